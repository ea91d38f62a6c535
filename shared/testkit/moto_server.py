"""moto for Flowstate's tests: one request at a time, cheap transactions.

Usage: python3 moto_server.py [--threaded-lock | --single-thread] [--port N]

Prints "port N" on stdout once listening (port 0, the default, picks a free
one) and serves until its stdin closes, so moto never outlives the test
process that started it, however that process ends.

Why not `python3 -m moto.server`: moto 5.2.1 serves with werkzeug's
threaded server, and its DynamoDB backend is not thread-safe. Concurrent
requests fail with "dictionary changed size during iteration" (a query
iterating a partition while a put adds to it), and TransactWriteItems
deep-copies every table it touches once per transaction item to roll back
with, then rolls back by putting the copy back, which also discards
whatever other threads wrote meanwhile. On a table holding a few thousand
executions that copy costs tens of milliseconds per item and grew moto to
gigabytes. So this launcher:

- runs moto's own WSGI app (what moto.server builds) with requests
  serialised: by default a thread per connection with one lock around the
  app (`--threaded-lock`), or werkzeug's single-threaded server
  (`--single-thread`). Flowstate's SQS receives never long-poll
  (WaitTimeSeconds 0), so serialising cannot stall behind a waiting
  receive;
- makes TransactWriteItems roll back by restoring only the items it
  touched (copied before the transaction), which is what the table copy
  achieved when requests are serialised.
"""

import argparse
import copy
import os
import sys
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import dynamo_type
import moto.dynamodb.models as dynamodb_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


class _NoTableCopy:
    """Stands in for the `copy` module inside moto.dynamodb.models: a table
    is "copied" as itself (the rollback below restores items instead);
    everything else is deep-copied as before."""

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, dynamodb_models.Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


_original_transact = DynamoDBBackend.transact_write_items


def _touched(backend, transact_items):
    """(table, hash, range, copy of the current item or None) per item."""
    touched = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto rejects it before writing anything
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        attrs = op.get("Item") if op_type == "Put" else op.get("Key")
        if not attrs or table.hash_key_attr not in attrs:
            continue
        hash_value = dynamo_type.DynamoType(attrs[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in attrs:
                continue
            range_value = dynamo_type.DynamoType(attrs[table.range_key_attr])
        current = table.get_item(hash_value, range_value)
        touched.append((table, hash_value, range_value, copy.deepcopy(current)))
    return touched


def _restore(touched):
    for table, hash_value, range_value, item in reversed(touched):
        if item is None:
            table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item


def transact_write_items(self, transact_items):
    touched = _touched(self, transact_items)
    try:
        return _original_transact(self, transact_items)
    except BaseException:
        _restore(touched)
        raise


def app():
    dynamodb_models.copy = _NoTableCopy()
    DynamoDBBackend.transact_write_items = transact_write_items
    main_app = DomainDispatcherApplication(create_backend_app)
    return main_app


def serialised(wsgi_app):
    lock = threading.Lock()

    def call(environ, start_response):
        with lock:
            # moto builds whole responses: materialise inside the lock.
            return list(wsgi_app(environ, start_response))

    return call


class Quiet(WSGIRequestHandler):
    """No access log line per request (thousands per test)."""

    def log_request(self, *args, **kwargs):
        pass


def main():
    parser = argparse.ArgumentParser()
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--threaded-lock", action="store_true", help="(default)")
    mode.add_argument("--single-thread", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    wsgi_app = app()
    if args.single_thread:
        server = make_server(args.host, args.port, wsgi_app, request_handler=Quiet)
    else:
        server = make_server(
            args.host, args.port, serialised(wsgi_app), threaded=True, request_handler=Quiet
        )
    # moto names queue URLs after the port it serves on.
    os.environ["MOTO_PORT"] = str(server.server_port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"port {server.server_port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        # No graceful shutdown needed: moto keeps everything in memory.
        os._exit(0)


if __name__ == "__main__":
    main()
