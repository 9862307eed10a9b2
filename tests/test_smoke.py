def test_login_page(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert "登录" in r.get_data(as_text=True)


def test_login(client, make_user):
    u = make_user("admin")
    r = client.login(u)
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.get("/")
    assert r.status_code == 200
