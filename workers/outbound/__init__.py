"""Messages to customers on their channel: acknowledgements and agent replies."""
