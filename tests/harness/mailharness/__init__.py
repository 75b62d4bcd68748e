"""The test harness's mail servers, one concern a module (run it through ``tests/harness/mailservers.py``).

``layout``: users, servers, ports and paths; ``certs``: the throwaway CA; ``processes``: start, find and
stop processes; ``dovecot``, ``postfix``, ``smtpservers``: each server's setup; ``start``: everything up
and servers.json; ``client``: what tests do to running servers (standard library only); ``cli``: the
commands.
"""
