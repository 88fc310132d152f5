using System.Text.Json.Serialization;
using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Web.Runs;

namespace BRun.Diagnostics.Web.Api;

/// <summary>Alert rules as the API reads and writes them (snake_case; a null threshold turns the rule off).</summary>
public sealed record AlertRulesBody(
    [property: JsonPropertyName("min_tasks")] int MinTasks,
    [property: JsonPropertyName("failure_rate_above")] decimal? FailureRateAbove,
    [property: JsonPropertyName("pause_on_failure_rate")] bool PauseOnFailureRate,
    [property: JsonPropertyName("api_error_share_above")] decimal? ApiErrorShareAbove,
    [property: JsonPropertyName("pause_on_api_error_share")] bool PauseOnApiErrorShare,
    [property: JsonPropertyName("new_pattern")] bool NewPattern,
    [property: JsonPropertyName("pause_on_new_pattern")] bool PauseOnNewPattern,
    [property: JsonPropertyName("webhook_url")] string? WebhookUrl,
    [property: JsonPropertyName("webhook_format")] string? WebhookFormat)
{
    public static AlertRulesBody From(RunAlertRules r) => new(r.MinTasks, r.FailureRateAbove, r.PauseOnFailureRate,
        r.ApiErrorShareAbove, r.PauseOnApiErrorShare, r.NewPattern, r.PauseOnNewPattern, r.WebhookUrl, r.WebhookFormat);

    public RunAlertRules ToRules() => new()
    {
        MinTasks = MinTasks, FailureRateAbove = FailureRateAbove, PauseOnFailureRate = PauseOnFailureRate,
        ApiErrorShareAbove = ApiErrorShareAbove, PauseOnApiErrorShare = PauseOnApiErrorShare, NewPattern = NewPattern,
        PauseOnNewPattern = PauseOnNewPattern, WebhookUrl = string.IsNullOrWhiteSpace(WebhookUrl) ? null : WebhookUrl.Trim(),
        WebhookFormat = WebhookFormat ?? Infrastructure.Alerts.WebhookFormat.Generic,
    };
}

/// <summary>One alert of a run, as the API answers it.</summary>
public sealed record RunAlertResponse(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("run_id")] Guid RunId,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("pattern")] string? Pattern,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("paused_run")] bool PausedRun,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("dismissed_at")] DateTime? DismissedAt,
    [property: JsonPropertyName("webhook_status")] string WebhookStatus,
    [property: JsonPropertyName("webhook_attempts")] int WebhookAttempts,
    [property: JsonPropertyName("webhook_last_error")] string? WebhookLastError)
{
    public static RunAlertResponse From(RunAlert a) => new(a.Id, a.RunId, a.Kind, a.Pattern, a.Message, a.PausedRun,
        a.CreatedAt, a.DismissedAt, a.WebhookStatus, a.WebhookAttempts, a.WebhookLastError);
}

/// <summary>
/// Alerts, rules and pause/resume over HTTP. Another member's run answers 404 (row-level security hides it); a run
/// in the wrong state for the action answers 409.
/// </summary>
public static class RunAlertEndpoints
{
    public static IEndpointRouteBuilder MapRunAlertApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var runs = endpoints.MapGroup("/api/runs/{id}").WithTags("Runs");

        runs.MapGet("/alerts", async (string id, HttpContext context, RunAlertService alerts, RunDashboardService runService, CancellationToken ct) =>
        {
            var (runId, problem) = ApiQueryParameters.RouteId(context, id, "run id");
            if (problem is not null)
            {
                return problem;
            }

            return await runService.GetAsync(runId, ct).ConfigureAwait(false) is null
                ? NoRun(runId)
                : Results.Ok((await alerts.ListForRunAsync(runId, ct).ConfigureAwait(false)).Select(RunAlertResponse.From));
        })
            .WithSummary("The run's alerts, newest first.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        runs.MapGet("/alert-rules", async (string id, HttpContext context, RunAlertService alerts, CancellationToken ct) =>
        {
            var (runId, problem) = ApiQueryParameters.RouteId(context, id, "run id");
            if (problem is not null)
            {
                return problem;
            }

            return await alerts.GetRulesAsync(runId, ct).ConfigureAwait(false) is { } rules ? Results.Ok(AlertRulesBody.From(rules)) : NoRun(runId);
        })
            .WithSummary("The run's alert rules.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        runs.MapPut("/alert-rules", async (string id, HttpContext context, AlertRulesBody body, RunAlertService alerts, CancellationToken ct) =>
        {
            var (runId, idProblem) = ApiQueryParameters.RouteId(context, id, "run id");
            if (idProblem is not null)
            {
                return idProblem;
            }

            var rules = body.ToRules();
            if (rules.Problem() is { } problem)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid alert rules", detail: problem,
                    extensions: new Dictionary<string, object?> { ["parameter"] = problem.Split(' ')[0] });
            }

            return await alerts.UpdateRulesAsync(runId, rules, ct).ConfigureAwait(false) ? Results.NoContent() : NoRun(runId);
        });

        runs.MapPost("/pause", (string id, HttpContext context, RunAlertService alerts, RunDashboardService runService, CancellationToken ct) =>
            ChangeAsync(context, id, runService, runId => alerts.PauseAsync(runId, ct), "The run is not running.", ct));
        runs.MapPost("/resume", (string id, HttpContext context, RunAlertService alerts, RunDashboardService runService, CancellationToken ct) =>
            ChangeAsync(context, id, runService, runId => alerts.ResumeAsync(runId, ct), "The run is not paused.", ct));
        return endpoints;
    }

    private static IResult NoRun(Guid runId) => ApiProblems.NotFound($"No run {runId:D} that you can see.");

    private static async Task<IResult> ChangeAsync(HttpContext context, string id, RunDashboardService runService, Func<Guid, Task<bool>> change, string conflict, CancellationToken ct)
    {
        var (runId, problem) = ApiQueryParameters.RouteId(context, id, "run id");
        if (problem is not null)
        {
            return problem;
        }

        if (await change(runId).ConfigureAwait(false))
        {
            return await runService.GetAsync(runId, ct).ConfigureAwait(false) is { } run ? Results.Ok(RunStatusResponse.From(run)) : NoRun(runId);
        }

        return await runService.GetAsync(runId, ct).ConfigureAwait(false) is null
            ? NoRun(runId)
            : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: conflict);
    }
}
