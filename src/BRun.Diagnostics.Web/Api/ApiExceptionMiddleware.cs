using BRun.Diagnostics.Infrastructure.Database;
using Npgsql;

namespace BRun.Diagnostics.Web.Api;

/// <summary>
/// The API's last line: an exception no endpoint turned into an answer becomes problem+json, never the dashboard's
/// HTML error page or a stack trace. Text with a NUL character (U+0000), which Postgres can neither store nor match, is
/// the client's to correct: a 400, naming the field when the check that found it knows it. Anything else is a 500 with
/// the trace id; the exception itself goes to the log only.
/// </summary>
public sealed partial class ApiExceptionMiddleware(RequestDelegate next, ILogger<ApiExceptionMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !(ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            var result = ex switch
            {
                BadHttpRequestException badRequest => BadRequest(badRequest),
                UnstorableTextException unstorable => new ParameterProblem(unstorable.Field, unstorable.Message, "text without NUL characters").ToResult(),
                PostgresException { SqlState: PostgresErrorCodes.CharacterNotInRepertoire } => Results.Problem(
                    title: "Invalid request text",
                    detail: "A text value in the request contains a NUL character (U+0000), which cannot be stored or matched; remove it and try again.",
                    statusCode: StatusCodes.Status400BadRequest),
                _ => null,
            };
            if (result is null)
            {
                LogUnhandled(context.Request.Method, context.Request.Path, ex);
                result = Results.Problem(
                    title: "Internal error",
                    detail: "The request failed on the server. The trace id identifies it in the server's log.",
                    statusCode: StatusCodes.Status500InternalServerError);
            }
            else
            {
                LogRefused(context.Request.Method, context.Request.Path, ex.GetType().Name);
            }

            context.Response.Clear();
            await result.ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A body the endpoint could not read (RouteHandlerOptions.ThrowOnBadRequest makes binding throw instead of answering
    /// an empty 400): not JSON, a value of the wrong type (named by its JSON path), or not sent as JSON.
    /// </summary>
    private static IResult BadRequest(BadHttpRequestException exception)
    {
        if (exception.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return new ParameterProblem("Content-Type", "The body must be sent as JSON.", "application/json").ToResult(StatusCodes.Status415UnsupportedMediaType);
        }

        var json = exception.InnerException as System.Text.Json.JsonException;
        var field = json?.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : "body";
        var detail = json is null
            ? "The request could not be read."
            : field == "body" ? "The body is not the JSON object this endpoint reads." : $"{field} has a value of the wrong type.";
        return exception.StatusCode == StatusCodes.Status400BadRequest
            ? new ParameterProblem(field, detail, "the JSON the API document (/openapi/v1.json) gives for this endpoint").ToResult()
            : Results.Problem(title: "Bad request", detail: detail, statusCode: exception.StatusCode);
    }

    [LoggerMessage(7820, LogLevel.Error, "API request {Method} {Path} failed")]
    private partial void LogUnhandled(string method, PathString path, Exception exception);

    [LoggerMessage(7821, LogLevel.Information, "API request {Method} {Path} refused as a bad request ({ExceptionType})")]
    private partial void LogRefused(string method, PathString path, string exceptionType);
}
