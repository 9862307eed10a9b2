import click

users_group = click.Group("users")
