"""`flask --app wsgi set-password EMAIL`: asks twice without echo, the rules apply, sessions end."""
from tests.helpers import PASSWORD
from tests.helpers import in_db
from webapp.models import User
from webapp.services.auth import check_password

GOOD = "copper kettle on the stove"


def _invoke(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_set_password_asks_twice_and_does_not_echo(app):
    result = _invoke(app, "set-password", "Billing@Demo.test", input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "New password:" in result.output and "New password again:" in result.output
    assert GOOD not in result.output
    assert "The password of billing@demo.test is set" in result.output
    with in_db(app):
        assert check_password(User.get(User.email == "billing@demo.test"), GOOD)


def test_set_password_refuses_and_changes_nothing(app):
    for email, typed, message in [
        ("billing@demo.test", f"{GOOD}\n{GOOD}x\n", "The two passwords are not the same."),
        ("billing@demo.test", "short\nshort\n", "at least 12 characters"),
        ("billing@demo.test", "password2024!\npassword2024!\n", "most common"),
        ("nobody@demo.test", f"{GOOD}\n{GOOD}\n", "There is no user with the email nobody@demo.test."),
    ]:
        result = _invoke(app, "set-password", email, input=typed)
        assert result.exit_code != 0 and message in result.output, result.output
    with in_db(app):
        assert check_password(User.get(User.email == "billing@demo.test"), PASSWORD)
