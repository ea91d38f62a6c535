"""Charges the order total. Totals above 10,000 are declined, as a card
processor would: the error object is what a Lambda function that throws
returns, so the state machine's Catch sees error "Card.Declined"."""
import json
import sys

order = json.load(sys.stdin)
total = round(sum(line["amount"] for line in order["lines"]), 2)
if total > 10000:
    json.dump({"errorType": "Card.Declined", "errorMessage": f"limit exceeded: {total}"}, sys.stdout)
    sys.exit(1)
json.dump({"chargeId": "ch_" + order["orderId"].lower(), "total": total}, sys.stdout)
