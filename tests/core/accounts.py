"""Server settings for the harness's Dovecot instances, by protocol and security mode."""

from mailcore import ServerSettings


def settings_for(servers, protocol, security, instance="main", user="alice", port_key=None, **changes):
    account = servers["users"][user]
    port = servers["dovecot"][instance][port_key or servers["services"][protocol][security]]
    values = {
        "protocol": protocol,
        "host": servers["hostname"],
        "port": port,
        "security": security,
        "login": account["login"],
        "password": account["password"],
        "sender": account["email"],
        "cafile": servers["ca_file"],
    }
    values.update(changes)
    return ServerSettings(**values)
