using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace BRun.Diagnostics.Web.Api;

/// <summary>
/// The failed-generations HTTP API: list, RAW report download, streamed export. Authorisation is the fallback
/// policy (cookie or <c>Authorization: Bearer</c> API token; anonymous gets 401); visibility is row-level
/// security, so another member's failure is a 404 or simply absent.
/// </summary>
public static class FailedGenerationEndpoints
{
    public const int DefaultLimit = 50;

    public static IEndpointRouteBuilder MapFailedGenerationApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/failed-generations");
        group.MapGet("/", ListAsync);
        group.MapGet("/export", ExportAsync);
        group.MapGet("/{id:guid}/report", DownloadReportAsync);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(
        [AsParameters] FilterQuery query, int? page, int? limit, FailureDashboardService failures, CancellationToken ct)
    {
        var pageNumber = page ?? 1;
        var pageSize = limit ?? DefaultLimit;
        if (pageNumber < 1 || pageSize < 1 || pageSize > PageRequest.MaxPageSize)
        {
            return Results.Problem(
                $"page must be 1 or more and limit between 1 and {PageRequest.MaxPageSize}.", statusCode: StatusCodes.Status400BadRequest);
        }

        var result = await failures.ListAsync(query.ToState(), pageNumber - 1, pageSize, ct).ConfigureAwait(false);
        return Results.Ok(new FailureListResponse([.. result.Items.Select(FailureItem.From)], result.TotalCount, pageNumber, pageSize));
    }

    private static async Task<IResult> DownloadReportAsync(Guid id, FailureDashboardService failures, CancellationToken ct)
    {
        var report = await failures.DownloadReportAsync(id, ct).ConfigureAwait(false);
        return report is null
            ? Results.NotFound()
            : Results.File(report.Content, "application/json", FailedGenerationFiles.ReportFileName(id));
    }

    private static async Task ExportAsync(
        HttpContext context, [AsParameters] FilterQuery query, string? format, FailureDashboardService failures, CancellationToken ct)
    {
        FailureExportFormat? parsed = format?.ToUpperInvariant() switch
        {
            null or "CSV" => FailureExportFormat.Csv,
            "JSONL" => FailureExportFormat.Jsonl,
            "ZIP" => FailureExportFormat.Zip,
            _ => null,
        };
        if (parsed is not { } exportFormat)
        {
            await Results.Problem("format must be csv, jsonl or zip.", statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["parameter"] = "format" }).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var filter = query.ToState();
        context.Response.ContentType = FailureExportWriter.ContentType(exportFormat);
        context.Response.Headers[HeaderNames.ContentDisposition] = new ContentDispositionHeaderValue("attachment")
        {
            FileName = FailureExportWriter.FileName(exportFormat),
        }.ToString();
        if (exportFormat == FailureExportFormat.Zip)
        {
            // Every RAW report straight from blob storage into the response body: no temporary file, no buffering.
            await failures.WriteReportArchiveAsync(filter, context.Response.Body, ct).ConfigureAwait(false);
            return;
        }

        // Rows go from the database reader to the response body one at a time (chunked), never collected in memory.
        await FailureExportWriter.WriteAsync(failures.StreamAsync(filter, ct), exportFormat, context.Response.Body, ct).ConfigureAwait(false);
    }

    /// <summary>The filter query parameters shared by list and export (same names as the page URL).</summary>
    internal sealed record FilterQuery(
        [property: FromQuery(Name = FailureFilterState.FailureTypeKey)] string? FailureType,
        [property: FromQuery(Name = FailureFilterState.StopReasonKey)] string? StopReason,
        [property: FromQuery(Name = FailureFilterState.PatternKey)] string? Pattern,
        [property: FromQuery(Name = FailureFilterState.ModelKey)] string? Model,
        [property: FromQuery(Name = FailureFilterState.RunIdKey)] string? RunId,
        [property: FromQuery(Name = FailureFilterState.FromKey)] string? From,
        [property: FromQuery(Name = FailureFilterState.ToKey)] string? To,
        [property: FromQuery(Name = FailureFilterState.QueryKey)] string? Q)
    {
        public FailureFilterState ToState() => FailureFilterState.Parse(FailureType, StopReason, Pattern, Model, RunId, From, To, Q);
    }
}
