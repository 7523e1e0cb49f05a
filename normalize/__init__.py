"""Pure parsers that turn raw channel input into frozen ``InboundMessage`` values.

Nothing here touches a database, a broker or the network: values in, values out.

Error tree::

    NormalizeError         base of every error raised here
     └── Unparseable       the input cannot become a message; kept raw and quarantined
"""
