from flask import Blueprint

bp = Blueprint("roster", __name__, template_folder="templates")
