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

    [LoggerMessage(7820, LogLevel.Error, "API request {Method} {Path} failed")]
    private partial void LogUnhandled(string method, PathString path, Exception exception);

    [LoggerMessage(7821, LogLevel.Information, "API request {Method} {Path} refused: text with a NUL character ({ExceptionType})")]
    private partial void LogRefused(string method, PathString path, string exceptionType);
}
