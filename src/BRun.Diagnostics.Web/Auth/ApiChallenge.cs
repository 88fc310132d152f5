using Microsoft.AspNetCore.Http.HttpResults;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>
/// The API's 401 and 403: a <c>WWW-Authenticate</c> challenge (RFC 6750) saying how to authenticate, and a
/// problem+json body saying what was wrong, so a script learns to send <c>Authorization: Bearer</c>.
/// </summary>
internal static class ApiChallenge
{
    public const string Realm = "brun";

    public static Task UnauthorizedAsync(HttpContext context, string? error, string detail)
    {
        context.Response.Headers.WWWAuthenticate = error is null
            ? $"Bearer realm=\"{Realm}\""
            : $"Bearer realm=\"{Realm}\", error=\"{error}\", error_description=\"{detail}\"";
        return WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    public static Task ForbiddenAsync(HttpContext context, string detail) =>
        WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", detail);

    private static Task WriteAsync(HttpContext context, int status, string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status).ExecuteAsync(context);
}
