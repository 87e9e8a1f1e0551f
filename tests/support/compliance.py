"""What every marketing email of the tests carries so it may launch (CAN-SPAM, checked at
launch: domain/campaigns/compliance.py): the unsubscribe link and a postal address."""

FOOTER = (
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    "<address>Acme Inc., 1 Main Street, Springfield</address>"
)
