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

    private static readonly string[] ExportKeys = [FormatKey];

    public static IEndpointRouteBuilder MapFailedGenerationApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/failed-generations").WithTags("Failed generations");
        group.MapGet("/", ListAsync)
            .WithName("ListFailedGenerations")
            .WithSummary("Failed generations, newest first, filtered and paged.")
            .WithQueryParameters([.. ApiQueryParameters.FailureFilter, .. ApiQueryParameters.Paging(DefaultLimit)])
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
        var filter = FailureFilterQuery.Parse(context.Request.Query, PageQuery.Keys);
        if (!filter.IsValid)
        {
            return filter.ToProblemResult();
        }

        var (page, problem) = PageQuery.Parse(context.Request.Query, DefaultLimit);
        if (problem is not null)
        {
            return problem.ToResult();
        }

        var result = await failures.ListAsync(filter.State, page!.PageIndex, page.PageSize, ct).ConfigureAwait(false);
        return Results.Ok(new FailureListResponse([.. result.Items.Select(FailureItem.From)], result.TotalCount, page.PageIndex + 1, page.PageSize));
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
