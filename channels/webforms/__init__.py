"""The web channel: hosted, embeddable forms (``/forms/{form}``), their abuse guards,
the signed follow-up page (``/t/{token}``) and the reply sender that mails the customer."""
