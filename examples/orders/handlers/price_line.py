"""Prices one order line: quantity x unit price, rounded to cents."""
import json
import sys

line = json.load(sys.stdin)
amount = round(line["quantity"] * line["unitPrice"], 2)
json.dump({"sku": line["sku"], "line": line["line"], "amount": amount}, sys.stdout)
