using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using BRun.Diagnostics.Core.Reports.Runs;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Web.Failures;
using BRun.Diagnostics.Web.Runs;
using Microsoft.Net.Http.Headers;

namespace BRun.Diagnostics.Web.Api;

/// <summary>JSON status of a run, for scripts (cookie or <c>Authorization: Bearer</c> API token).</summary>
public sealed record RunStatusResponse(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("finished_at")] DateTimeOffset? FinishedAt,
    [property: JsonPropertyName("owner_email")] string OwnerEmail,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("max_tokens")] int MaxTokens,
    [property: JsonPropertyName("temperature")] decimal? Temperature,
    [property: JsonPropertyName("template")] string Template,
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("succeeded")] int Succeeded,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("cancelled")] int Cancelled,
    [property: JsonPropertyName("in_flight")] int InFlight,
    [property: JsonPropertyName("pending")] int Pending,
    [property: JsonPropertyName("tasks_per_minute")] double? TasksPerMinute,
    [property: JsonPropertyName("eta_seconds")] double? EtaSeconds,
    [property: JsonPropertyName("failures_url")] string FailuresUrl,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("failed_cost_usd")] decimal FailedCostUsd,
    [property: JsonPropertyName("simulated")] bool Simulated,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("online_equivalent_cost_usd")] decimal? OnlineEquivalentCostUsd,
    [property: JsonPropertyName("batches_url")] string? BatchesUrl)
{
    public static RunStatusResponse From(RunView run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var batch = run.Mode == RunMode.Batch;
        return new(run.Id, run.Status, run.CreatedAt, run.FinishedAt, run.OwnerEmail, run.Model, run.MaxTokens, run.Temperature,
            run.TemplateName, run.Total, run.Succeeded, run.Failed, run.Cancelled, run.InFlight, run.Pending,
            run.TasksPerMinute is { } r ? Math.Round(r, 2) : null, run.Eta is { } eta ? Math.Round(eta.TotalSeconds) : null,
            "/api/failed-generations" + (FailureFilterState.Empty with { RunId = run.Id }).ToQueryString(),
            run.CostUsd, run.FailedCostUsd, run.Simulated, run.Mode,
            batch ? run.OnlineEquivalentCostUsd : null, batch ? $"/api/runs/{run.Id:D}/batches" : null);
    }
}

/// <summary>One Message Batch of a batch-mode run: our row and the API's status and counts as last polled.</summary>
public sealed record RunBatchResponse(
    [property: JsonPropertyName("seq")] int Seq,
    [property: JsonPropertyName("batch_id")] string? BatchId,
    [property: JsonPropertyName("submission_state")] string SubmissionState,
    [property: JsonPropertyName("processing_status")] string? ProcessingStatus,
    [property: JsonPropertyName("request_count")] int RequestCount,
    [property: JsonPropertyName("request_counts")] RunBatchCounts RequestCounts,
    [property: JsonPropertyName("results_lines_done")] long ResultsLinesDone,
    [property: JsonPropertyName("results_lines_unreadable")] int ResultsLinesUnreadable,
    [property: JsonPropertyName("unreadable_lines_url")] string? UnreadableLinesUrl,
    [property: JsonPropertyName("ingest_state")] string IngestState,
    [property: JsonPropertyName("cancel_requested")] bool CancelRequested,
    [property: JsonPropertyName("created_at")] DateTimeOffset? CreatedAt,
    [property: JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt,
    [property: JsonPropertyName("ended_at")] DateTimeOffset? EndedAt,
    [property: JsonPropertyName("last_polled_at")] DateTimeOffset? LastPolledAt)
{
    public static RunBatchResponse From(MessageBatchRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new(row.Seq, row.AnthropicBatchId, row.SubmissionState, row.ProcessingStatus, row.RequestCount,
            new RunBatchCounts(row.CountProcessing, row.CountSucceeded, row.CountErrored, row.CountCanceled, row.CountExpired),
            row.ResultsLinesDone, row.ResultsLinesUnreadable,
            row.ResultsLinesUnreadable > 0 ? RunApiEndpoints.UnreadableLinesUrl(row.RunId, row.Seq) : null, row.IngestState, row.CancelRequested, Utc(row.ApiCreatedAt), Utc(row.ExpiresAt), Utc(row.EndedAt), Utc(row.LastPolledAt));
    }

    private static DateTimeOffset? Utc(DateTime? value) => value is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;
}

/// <summary>A results line that could not be read, as it came (<c>text</c>), with its line number and why.</summary>
public sealed record UnreadableLineResponse(
    [property: JsonPropertyName("line")] long Line,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("read_at")] DateTimeOffset ReadAt);

/// <summary>The Batches API's <c>request_counts</c>, as last polled.</summary>
public sealed record RunBatchCounts(
    [property: JsonPropertyName("processing")] int Processing,
    [property: JsonPropertyName("succeeded")] int Succeeded,
    [property: JsonPropertyName("errored")] int Errored,
    [property: JsonPropertyName("canceled")] int Canceled,
    [property: JsonPropertyName("expired")] int Expired);

/// <summary>A run's batches, oldest first (none for an online run), with what they cost against the online price.</summary>
public sealed record RunBatchesResponse(
    [property: JsonPropertyName("run_id")] Guid RunId,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("online_equivalent_cost_usd")] decimal OnlineEquivalentCostUsd,
    [property: JsonPropertyName("batches")] IReadOnlyList<RunBatchResponse> Batches);

/// <summary>The runs list response: <c>{ "items": [...], "total": N, "page": P, "limit": L }</c>.</summary>
public sealed record RunListResponse(
    [property: JsonPropertyName("items")] IReadOnlyList<RunStatusResponse> Items,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("page")] int Page,
    [property: JsonPropertyName("limit")] int Limit);

/// <summary>The runs HTTP API. Authorisation is the fallback policy; visibility is row-level security (others' runs: 404).</summary>
public static class RunApiEndpoints
{
    public const int DefaultLimit = 50;
    public const string StatusKey = "status";
    public const string ReportFormatKey = "format";

    public static IEndpointRouteBuilder MapRunApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/runs").WithTags("Runs");
        group.MapGet("/", ListAsync)
            .WithName("ListRuns")
            .WithSummary("Runs you can see, newest first, optionally by status, paged.")
            .WithQueryParameters(ListParameters)
            .Produces<RunListResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id}", GetAsync)
            .WithName("GetRun")
            .WithSummary("One run's status and counts.")
            .Produces<RunStatusResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id}/batches", BatchesAsync)
            .WithName("GetRunBatches")
            .WithSummary("A batch-mode run's Message Batches: id, status, request counts and results lines read; the run's cost against its online equivalent.")
            .Produces<RunBatchesResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id}/batches/{seq}/unreadable-lines", UnreadableLinesAsync)
            .WithName("GetRunBatchUnreadableLines")
            .WithSummary("The results lines of the run's batch number seq (1, 2, …) that could not be read, as they came; their tasks were sent again.")
            .Produces<IReadOnlyList<UnreadableLineResponse>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id}/report", ReportAsync)
            .WithName("GetRunReport")
            .WithQueryParameters(ReportParameters)
            .WithSummary("The run's shareable report: one self-contained HTML file (format=html, the default) or Markdown (format=md).")
            .Produces(StatusCodes.Status200OK, contentType: "text/html")
            .Produces(StatusCodes.Status200OK, contentType: "text/markdown")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static IReadOnlyList<ApiQueryParameter> ListParameters { get; } =
    [
        new(StatusKey, "Only runs in this status: " + string.Join(", ", RunStatus.All) + ".", Values: RunStatus.All),
        .. ApiQueryParameters.Paging(DefaultLimit),
    ];

    private static async Task<IResult> ListAsync(HttpContext context, RunDashboardService runs, CancellationToken ct)
    {
        var query = context.Request.Query;
        if (ApiQueryParameters.RefuseUnknownOrRepeated(query, ListParameters) is { } unknown)
        {
            return unknown.ToResult();
        }

        var statusValues = query[StatusKey];
        var accepts = "one of " + string.Join(", ", RunStatus.All) + " (lower case)";
        var status = string.IsNullOrWhiteSpace(statusValues.ToString()) ? null : statusValues.ToString();
        if (status is not null && !RunStatus.All.Contains(status, StringComparer.Ordinal))
        {
            return new ParameterProblem(StatusKey, $"status '{FailureFilterQuery.Shorten(status)}' is not a run status.", accepts).ToResult();
        }

        var (page, problem) = PageQuery.Parse(query, DefaultLimit);
        if (problem is not null)
        {
            return problem.ToResult();
        }

        var result = await runs.PageAsync(status, page!, ct).ConfigureAwait(false);
        return Results.Ok(new RunListResponse([.. result.Items.Select(RunStatusResponse.From)], result.TotalCount, page!.PageIndex + 1, page.PageSize));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, RunDashboardService runs, CancellationToken ct)
    {
        if (ApiIds.Parse(id) is not { } runId)
        {
            return ApiIds.Problem("id", id, "run id").ToResult();
        }

        if (FailedGenerationEndpoints.RouteOnly(context) is { } extra)
        {
            return extra.ToResult();
        }

        return await runs.GetAsync(runId, ct).ConfigureAwait(false) is { } run
            ? Results.Ok(RunStatusResponse.From(run))
            : ApiProblems.NotFound($"No run {runId:D} that you can see.");
    }

    private static async Task<IResult> BatchesAsync(string id, HttpContext context, RunDashboardService runs, CancellationToken ct)
    {
        var (runId, problem) = ApiQueryParameters.RouteId(context, id, "run id");
        if (problem is not null)
        {
            return problem;
        }

        // Row-level security hides another member's run, and with it its batches: the run decides the 404.
        if (await runs.GetAsync(runId, ct).ConfigureAwait(false) is not { } run)
        {
            return ApiProblems.NotFound($"No run {runId:D} that you can see.");
        }

        var batches = await runs.GetBatchesAsync(runId, ct).ConfigureAwait(false);
        return Results.Ok(new RunBatchesResponse(run.Id, run.Mode, run.CostUsd, run.OnlineEquivalentCostUsd, [.. batches.Select(RunBatchResponse.From)]));
    }

    /// <summary>Where a batch's unreadable results lines are read.</summary>
    public static string UnreadableLinesUrl(Guid runId, int seq) =>
        string.Create(CultureInfo.InvariantCulture, $"/api/runs/{runId:D}/batches/{seq}/unreadable-lines");

    private static async Task<IResult> UnreadableLinesAsync(string id, string seq, HttpContext context, RunDashboardService runs, CancellationToken ct)
    {
        var (runId, problem) = ApiQueryParameters.RouteId(context, id, "run id");
        if (problem is not null)
        {
            return problem;
        }

        if (!int.TryParse(seq, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            return new ParameterProblem("seq", $"'{FailureFilterQuery.Shorten(seq)}' is not a batch number.", "the batch's number in its run: a whole number from 1").ToResult();
        }

        if (await runs.GetAsync(runId, ct).ConfigureAwait(false) is null)
        {
            return ApiProblems.NotFound($"No run {runId:D} that you can see.");
        }

        if ((await runs.GetBatchesAsync(runId, ct).ConfigureAwait(false)).All(b => b.Seq != number))
        {
            return ApiProblems.NotFound($"Run {runId:D} has no batch {number}.", "seq");
        }

        var lines = await runs.GetUnreadableLinesAsync(runId, number, ct).ConfigureAwait(false);
        return Results.Ok(lines.Select(l => new UnreadableLineResponse(l.Line, l.Reason, l.Text, new DateTimeOffset(l.CreatedAt, TimeSpan.Zero))).ToList());
    }

    /// <summary>
    /// The run report as one self-contained HTML file (default) or Markdown, as an attachment. The HTML also gets a
    /// Content-Security-Policy header that allows no script and no request, as its own meta tag does.
    /// </summary>
    private static IReadOnlyList<ApiQueryParameter> ReportParameters { get; } =
    [
        new(ReportFormatKey, "html (the default: one self-contained file) or md (Markdown).", Values: ["html", "md"]),
    ];

    private static async Task<IResult> ReportAsync(string id, HttpContext context, RunReportService reports, CancellationToken ct)
    {
        if (ApiIds.Parse(id) is not { } runId)
        {
            return ApiIds.Problem("id", id, "run id").ToResult();
        }

        var query = context.Request.Query;
        if (ApiQueryParameters.RefuseUnknownOrRepeated(query, ReportParameters) is { } unknown)
        {
            return unknown.ToResult();
        }

        var format = query[ReportFormatKey].ToString();
        bool isMarkdown;
        switch (format)
        {
            case "" or "html":
                isMarkdown = false;
                break;
            case "md":
                isMarkdown = true;
                break;
            default:
                return new ParameterProblem(ReportFormatKey, $"format '{FailureFilterQuery.Shorten(format)}' is not a report format.", "html or md (lower case)").ToResult();
        }

        var request = context.Request;
        var report = await reports.BuildAsync(runId, new Uri($"{request.Scheme}://{request.Host}{request.PathBase}/"), ct).ConfigureAwait(false);
        if (report is null)
        {
            return ApiProblems.NotFound($"No run {runId:D} that you can see.");
        }

        context.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        var fileName = RunReportFiles.FileName(runId, isMarkdown);
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
