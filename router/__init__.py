"""Pure decisions over a ticket: category, priority, team and destinations.

Every decision carries its trace: the rules that matched and the ones that did not.
Nothing here touches a database, a broker or the network.
"""
