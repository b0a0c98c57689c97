"""Every error becomes {status, code, message}, whatever raised it."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "throttled",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or _CODES.get(status, "error")


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, message: str, code: str | None = None
) -> HttpResponse:
    body = {"status": status, "code": code or _CODES.get(status, "error"), "message": message}
    return api.create_response(request, body, status=status)


def _describe(errors: list[dict]) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", [])[1:]) or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        response = error_response(api, request, exc.status, exc.message, exc.code)
        if exc.status == 503:
            response["Retry-After"] = str(settings.SEARCH_RETRY_AFTER)
        return response

    @api.exception_handler(ValidationError)
    def invalid(request, exc: ValidationError):
        return error_response(api, request, 400, _describe(exc.errors))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return error_response(
            api, request, 401, "a valid API token is required (Authorization: Bearer <token>)"
        )

    @api.exception_handler(Throttled)
    def throttled(request, exc: Throttled):
        response = error_response(api, request, 429, "too many requests; slow down and retry later")
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait) + 1)
        return response

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return error_response(api, request, 404, str(exc) or "not found")

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        return error_response(api, request, exc.status_code, str(exc))
