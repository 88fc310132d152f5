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
        var runs = endpoints.MapGroup("/api/runs/{id:guid}");

        runs.MapGet("/alerts", async (Guid id, RunAlertService alerts, RunDashboardService runService, CancellationToken ct) =>
            await runService.GetAsync(id, ct).ConfigureAwait(false) is null
                ? Results.NotFound()
                : Results.Ok((await alerts.ListForRunAsync(id, ct).ConfigureAwait(false)).Select(RunAlertResponse.From)));

        runs.MapGet("/alert-rules", async (Guid id, RunAlertService alerts, CancellationToken ct) =>
            await alerts.GetRulesAsync(id, ct).ConfigureAwait(false) is { } rules ? Results.Ok(AlertRulesBody.From(rules)) : Results.NotFound());

        runs.MapPut("/alert-rules", async (Guid id, AlertRulesBody body, RunAlertService alerts, CancellationToken ct) =>
        {
            var rules = body.ToRules();
            if (rules.Problem() is { } problem)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid alert rules", detail: problem,
                    extensions: new Dictionary<string, object?> { ["parameter"] = problem.Split(' ')[0] });
            }

            return await alerts.UpdateRulesAsync(id, rules, ct).ConfigureAwait(false) ? Results.NoContent() : Results.NotFound();
        });

        runs.MapPost("/pause", (Guid id, RunAlertService alerts, RunDashboardService runService, CancellationToken ct) =>
            ChangeAsync(id, runService, () => alerts.PauseAsync(id, ct), "The run is not running.", ct));
        runs.MapPost("/resume", (Guid id, RunAlertService alerts, RunDashboardService runService, CancellationToken ct) =>
            ChangeAsync(id, runService, () => alerts.ResumeAsync(id, ct), "The run is not paused.", ct));
        return endpoints;
    }

    private static async Task<IResult> ChangeAsync(Guid id, RunDashboardService runService, Func<Task<bool>> change, string conflict, CancellationToken ct)
    {
        if (await change().ConfigureAwait(false))
        {
            return await runService.GetAsync(id, ct).ConfigureAwait(false) is { } run ? Results.Ok(RunStatusResponse.From(run)) : Results.NotFound();
        }

        return await runService.GetAsync(id, ct).ConfigureAwait(false) is null
            ? Results.NotFound()
            : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: conflict);
    }
}
