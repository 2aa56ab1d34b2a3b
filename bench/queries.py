"""Counts a request's SQL queries when asked (header X-Bench-Queries), in X-Bench-Queries."""

from django.db import connections


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_X_BENCH_QUERIES" not in request.META:
            return self.get_response(request)
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        wrappers = [c.execute_wrapper(counter) for c in connections.all()]
        for wrapper in wrappers:
            wrapper.__enter__()
        try:
            response = self.get_response(request)
        finally:
            for wrapper in reversed(wrappers):
                wrapper.__exit__(None, None, None)
        response["X-Bench-Queries"] = str(count)
        return response
