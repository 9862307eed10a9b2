import click

courses_group = click.Group("courses")
