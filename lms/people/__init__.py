"""People: accounts, roles and rosters, as administrators, HR officers and coordinators see them."""
