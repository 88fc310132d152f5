using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Failures;
using Microsoft.Net.Http.Headers;

namespace BRun.Diagnostics.Web.Api;

/// <summary>
/// The failed-generations HTTP API: list, one failure, RAW report download, streamed export. Authorisation is the
/// fallback policy (cookie or <c>Authorization: Bearer</c> API token; anonymous gets 401); visibility is row-level
/// security, so another member's failure is a 404 or simply absent. Query parameters are read by
/// <see cref="FailureFilterQuery"/> and <see cref="PageQuery"/> only, so every bad value is a 400 problem+json naming it.
/// </summary>
public static class FailedGenerationEndpoints
{
    public const int DefaultLimit = 50;
    public const string FormatKey = "format";

    /// <summary>Keyset paging: the rows after this cursor (a <c>next_cursor</c> of an earlier page), instead of <c>page</c>.</summary>
    public const string AfterKey = "after";

    private static readonly string[] ListKeys = [.. PageQuery.Keys, AfterKey];

    private static readonly string[] ExportKeys = [FormatKey];

    public static IEndpointRouteBuilder MapFailedGenerationApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/failed-generations").WithTags("Failed generations");
        group.MapGet("/", ListAsync)
            .WithName("ListFailedGenerations")
            .WithSummary("Failed generations, newest first, filtered and paged.")
            .WithQueryParameters([.. ApiQueryParameters.FailureFilter, .. ApiQueryParameters.Paging(DefaultLimit), ApiQueryParameters.After])
            .Produces<FailureListResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/export", ExportAsync)
            .WithName("ExportFailedGenerations")
            .WithSummary("Every failed generation matching the filter, streamed as CSV or JSON Lines, or every RAW report in one ZIP.")
            .WithQueryParameters([.. ApiQueryParameters.FailureFilter, ApiQueryParameters.ExportFormat])
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson")
            .Produces(StatusCodes.Status200OK, contentType: "application/zip")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id}", GetAsync)
            .WithName("GetFailedGeneration")
            .WithSummary("One failed generation as JSON (the RAW report is at report_url).")
            .Produces<FailureDetail>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id}/report", DownloadReportAsync)
            .WithName("DownloadFailedGenerationReport")
            .WithSummary("The RAW error report (JSON) as a file.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(HttpContext context, FailureDashboardService failures, CancellationToken ct)
    {
        var filter = FailureFilterQuery.Parse(context.Request.Query, ListKeys);
        if (!filter.IsValid)
        {
            return filter.ToProblemResult();
        }

        var (page, problem) = PageQuery.Parse(context.Request.Query, DefaultLimit);
        if (problem is not null)
        {
            return problem.ToResult();
        }

        var (after, afterProblem) = ParseAfter(context.Request.Query);
        if (afterProblem is not null)
        {
            return afterProblem.ToResult();
        }

        var result = after is null
            ? await failures.ListAsync(filter.State, page!.PageIndex, page.PageSize, ct).ConfigureAwait(false)
            : await failures.ListAfterAsync(filter.State, after, page!.PageSize, ct).ConfigureAwait(false);
        // A full page may have more after it: its last row is where the next one starts.
        var next = result.Items.Count == page.PageSize ? FailedGenerationCursor.After(result.Items[^1]).Encode() : null;
        return Results.Ok(new FailureListResponse(
            [.. result.Items.Select(FailureItem.From)], result.TotalCount, after is null ? page.PageIndex + 1 : null, page.PageSize, next));
    }

    /// <summary>The cursor of <c>after</c>, absent, or the problem with it (not one we wrote; given twice; given with <c>page</c>).</summary>
    private static (FailedGenerationCursor? After, ParameterProblem? Problem) ParseAfter(IQueryCollection query)
    {
        const string Accepted = "the next_cursor of an earlier page, unchanged";
        var values = query[AfterKey];
        if (values.Count == 0 || (values.Count == 1 && string.IsNullOrEmpty(values[0])))
        {
            return (null, null);
        }

        if (values.Count > 1)
        {
            return (null, new ParameterProblem(AfterKey, $"{AfterKey} is given {values.Count} times; give it at most once.", Accepted));
        }

        // An empty page is no page, as for every parameter.
        if (!string.IsNullOrEmpty(query[PageQuery.PageKey].ToString()))
        {
            return (null, new ParameterProblem(AfterKey, $"{AfterKey} and {PageQuery.PageKey} are both given; a page read after a cursor has no number.", Accepted));
        }

        return FailedGenerationCursor.Decode(values[0]) is { } cursor
            ? (cursor, null)
            : (null, new ParameterProblem(AfterKey, $"{AfterKey} '{FailureFilterQuery.Shorten(values[0]!)}' is not a cursor this API wrote.", Accepted));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, FailureDashboardService failures, CancellationToken ct)
    {
        if (ApiIds.Parse(id) is not { } failureId)
        {
            return ApiIds.Problem("id", id, "failed generation id").ToResult();
        }

        if (RouteOnly(context) is { } extra)
        {
            return extra.ToResult();
        }

        return await failures.GetDetailAsync(failureId, ct).ConfigureAwait(false) is { } detail
            ? Results.Ok(detail)
            : ApiProblems.NotFound($"No failed generation {failureId:D} that you can see.");
    }

    private static async Task<IResult> DownloadReportAsync(string id, HttpContext context, FailureDashboardService failures, CancellationToken ct)
    {
        if (ApiIds.Parse(id) is not { } failureId)
        {
            return ApiIds.Problem("id", id, "failed generation id").ToResult();
        }

        if (RouteOnly(context) is { } extra)
        {
            return extra.ToResult();
        }

        var report = await failures.DownloadReportAsync(failureId, ct).ConfigureAwait(false);
        return report is null
            ? ApiProblems.NotFound($"No failed generation {failureId:D} that you can see.")
            : Results.File(report.Content, "application/json", FailedGenerationFiles.ReportFileName(failureId));
    }

    private static async Task ExportAsync(HttpContext context, FailureDashboardService failures, CancellationToken ct)
    {
        var filter = FailureFilterQuery.Parse(context.Request.Query, ExportKeys);
        var format = ParseFormat(context.Request.Query);
        var problem = filter.IsValid ? format.Problem : filter.Problems[0];
        if (problem is not null)
        {
            await problem.ToResult().ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var exportFormat = format.Format;
        context.Response.ContentType = FailureExportWriter.ContentType(exportFormat);
        context.Response.Headers[HeaderNames.ContentDisposition] = new ContentDispositionHeaderValue("attachment")
        {
            FileName = FailureExportWriter.FileName(exportFormat),
        }.ToString();
        if (exportFormat == FailureExportFormat.Zip)
        {
            // Every RAW report straight from blob storage into the response body: no temporary file, no buffering.
            await failures.WriteReportArchiveAsync(filter.State, context.Response.Body, ct).ConfigureAwait(false);
            return;
        }

        // Rows go from the database reader to the response body one at a time (chunked), never collected in memory.
        await FailureExportWriter.WriteAsync(failures.StreamAsync(filter.State, ct), exportFormat, context.Response.Body, ct).ConfigureAwait(false);
    }

    /// <summary>csv (the default), jsonl or zip (every RAW report), lower case like every other value.</summary>
    internal static (FailureExportFormat Format, ParameterProblem? Problem) ParseFormat(IQueryCollection query)
    {
        var values = query[FormatKey];
        const string accepts = "csv, jsonl or zip (lower case)";
        return values.Count > 1
            ? (default, new ParameterProblem(FormatKey, $"format is given {values.Count} times; give it at most once.", accepts))
            : values.ToString() switch
            {
                null or "" or "csv" => (FailureExportFormat.Csv, null),
                "jsonl" => (FailureExportFormat.Jsonl, null),
                "zip" => (FailureExportFormat.Zip, null),
                var other => (default, new ParameterProblem(FormatKey, $"format '{FailureFilterQuery.Shorten(other)}' is not an export format.", accepts)),
            };
    }

    /// <summary>A route that takes no query parameters refuses any, like the list refuses unknown ones.</summary>
    internal static ParameterProblem? RouteOnly(HttpContext context) =>
        ApiQueryParameters.RefuseUnknownOrRepeated(context.Request.Query, []);
}
