from __future__ import annotations

from djsupervisor.errors import StartError

HELP = "For help, use /venv/bin/supervisord -h\n"


def test_supervisords_error_line_is_quoted() -> None:
    output = "Error: Another program is already listening on a port\n" + HELP
    assert str(StartError.of_output(output)) == (
        "supervisord could not start: Error: Another program is already listening on a port"
    )
    assert str(StartError.of_output("")) == "supervisord could not start: no message"


def test_a_supervisord_that_cannot_import_djsupervisor_is_explained() -> None:
    # What supervisord prints when a fresh Python cannot import the namespace.
    output = (
        "Error: djsupervisor.inside.rpcinterface:make_rpcinterface cannot be resolved "
        "within [rpcinterface:djsupervisor]\n" + HELP
    )
    message = str(StartError.of_output(output))
    assert message.startswith(
        "supervisord could not start: Error: djsupervisor.inside.rpcinterface"
    )
    assert "must be able to import djsupervisor" in message
