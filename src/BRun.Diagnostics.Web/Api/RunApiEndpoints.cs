using System.Text.Json.Serialization;
using BRun.Diagnostics.Web.Runs;

namespace BRun.Diagnostics.Web.Api;

/// <summary>JSON status of a run, for scripts (cookie or <c>Authorization: Bearer</c> API token).</summary>
public sealed record RunStatusResponse(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("max_tokens")] int MaxTokens,
    [property: JsonPropertyName("template")] string Template,
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("succeeded")] int Succeeded,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("cancelled")] int Cancelled,
    [property: JsonPropertyName("in_flight")] int InFlight,
    [property: JsonPropertyName("pending")] int Pending,
    [property: JsonPropertyName("tasks_per_minute")] double? TasksPerMinute,
    [property: JsonPropertyName("eta_seconds")] double? EtaSeconds,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd = 0,
    [property: JsonPropertyName("failed_cost_usd")] decimal FailedCostUsd = 0,
    [property: JsonPropertyName("simulated")] bool Simulated = false)
{
    public static RunStatusResponse From(RunView run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new(run.Id, run.Status, run.CreatedAt, run.Model, run.MaxTokens, run.TemplateName, run.Total, run.Succeeded,
            run.Failed, run.Cancelled, run.InFlight, run.Pending,
            run.TasksPerMinute is { } r ? Math.Round(r, 2) : null, run.Eta is { } eta ? Math.Round(eta.TotalSeconds) : null,
            run.CostUsd, run.FailedCostUsd, run.Simulated);
    }
}

/// <summary>The runs HTTP API. Authorisation is the fallback policy; visibility is row-level security (others' runs: 404).</summary>
public static class RunApiEndpoints
{
    public static IEndpointRouteBuilder MapRunApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/api/runs/{id:guid}", async (Guid id, RunDashboardService runs, CancellationToken ct) =>
            await runs.GetAsync(id, ct).ConfigureAwait(false) is { } run
                ? Results.Ok(RunStatusResponse.From(run))
                : Results.NotFound());
        return endpoints;
    }
}
