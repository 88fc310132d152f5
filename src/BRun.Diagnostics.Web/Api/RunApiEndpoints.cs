using System.Text;
using System.Text.Json.Serialization;
using BRun.Diagnostics.Core.Reports.Runs;
using BRun.Diagnostics.Web.Runs;
using Microsoft.Net.Http.Headers;

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
        endpoints.MapGet("/api/runs/{id:guid}/report", ReportAsync);
        return endpoints;
    }

    /// <summary>
    /// The run report as one self-contained HTML file (default) or Markdown, as an attachment. The HTML also gets a
    /// Content-Security-Policy header that allows no script and no request, as its own meta tag does.
    /// </summary>
    private static async Task<IResult> ReportAsync(Guid id, string? format, HttpContext context, RunReportService reports, CancellationToken ct)
    {
        var markdown = format?.ToUpperInvariant() switch
        {
            null or "HTML" => false,
            "MD" or "MARKDOWN" => true,
            _ => (bool?)null,
        };
        if (markdown is not { } isMarkdown)
        {
            return Results.Problem("format must be html or md.", statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["parameter"] = "format" });
        }

        var request = context.Request;
        var report = await reports.BuildAsync(id, new Uri($"{request.Scheme}://{request.Host}{request.PathBase}/"), ct).ConfigureAwait(false);
        if (report is null)
        {
            return Results.NotFound();
        }

        context.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        var fileName = RunReportFiles.FileName(id, isMarkdown);
        if (isMarkdown)
        {
            return Results.File(Encoding.UTF8.GetBytes(RunReportMarkdownWriter.Write(report)), "text/markdown; charset=utf-8", fileName);
        }

        context.Response.Headers[HeaderNames.ContentSecurityPolicy] = RunReportHtmlWriter.ContentSecurityPolicy;
        return Results.File(Encoding.UTF8.GetBytes(RunReportHtmlWriter.Write(report)), "text/html; charset=utf-8", fileName);
    }
}

/// <summary>Names and URLs of run reports.</summary>
public static class RunReportFiles
{
    public static string FileName(Guid runId, bool markdown) => $"run-report-{runId:D}.{(markdown ? "md" : "html")}";

    public static string Url(Guid runId, bool markdown) => $"/api/runs/{runId:D}/report?format={(markdown ? "md" : "html")}";
}
