using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Datasets;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace BRun.Diagnostics.Web.Api;

/// <summary>
/// Import and training export over HTTP, with the same services as <c>brun import</c> / <c>brun export</c>.
/// Authorisation is the fallback policy; both run as the signed-in user, so row-level security applies.
/// Every 4xx is problem+json with the offending parameter in <c>parameter</c>.
/// </summary>
public static class DatasetEndpoints
{
    /// <summary>Request bodies an import accepts: JSONL, or one saved JSON body. Not a form type, so a cross-site page cannot post one.</summary>
    private static readonly string[] ImportContentTypes = ["application/x-ndjson", "application/jsonl", "application/json", "text/event-stream"];

    public static IEndpointRouteBuilder MapDatasetApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/api/export/training", ExportAsync).WithQueryParameters(ExportParameters);
        endpoints.MapPost("/api/import", ImportAsync);
        return endpoints;
    }

    private static readonly IReadOnlyList<ApiQueryParameter> ExportParameters =
    [
        new("format", "Training format: openai or sharegpt.", Values: ["openai", "sharegpt"], Required: true, Example: "openai"),
        new("dataset", "A dataset id or name."),
        new("run", "Only this run's conversations: a run id (a UUID)."),
        new("since", "Only conversations created at or after this: " + Failures.FailureFilterQuery.TimeAccepts + "."),
        new("model", "Only this model."),
        new("include_simulated", "true to include conversations the simulator produced (default false).", Values: ["true", "false"]),
    ];

    /// <summary>A 400 naming the parameter.</summary>
    internal static IResult BadParameter(string parameter, string detail) => Results.Problem(
        detail,
        statusCode: StatusCodes.Status400BadRequest,
        title: $"Invalid parameter '{parameter}'",
        extensions: new Dictionary<string, object?> { ["parameter"] = parameter });

    /// <summary>
    /// <c>GET /api/export/training?format=openai|sharegpt&amp;dataset=&amp;run=&amp;since=&amp;model=&amp;include_simulated=</c>:
    /// a ZIP streamed as it is written, holding <c>training.jsonl</c> and then <c>training.manifest.json</c> (the manifest
    /// needs the whole export, so it comes last in the same response).
    /// </summary>
    private static async Task<IResult> ExportAsync(
        HttpContext context, string? format, string? dataset, string? run, string? since, string? model, string? include_simulated,
        ICurrentUser user, TrainingExporter exporter, DatasetImporter importer, TimeProvider time, CancellationToken ct)
    {
        if (ApiQueryParameters.RefuseUnknownOrRepeated(context.Request.Query, ExportParameters) is { } unknown)
        {
            return unknown.ToResult();
        }

        // Text goes to Postgres as a parameter; a control character (a NUL above all) cannot be stored or matched.
        if (model is not null && (model.Length > 200 || model.Any(char.IsControl)))
        {
            return BadParameter("model", "model must be a model id of up to 200 characters without control characters.");
        }

        if (dataset is not null && (string.IsNullOrWhiteSpace(dataset) || dataset.Length > 200 || dataset.Any(char.IsControl)))
        {
            return BadParameter("dataset", "dataset must be a dataset id or a name of up to 200 characters without control characters.");
        }

        bool includeSimulated;
        switch (include_simulated)
        {
            case null or "" or "false":
                includeSimulated = false;
                break;
            case "true":
                includeSimulated = true;
                break;
            default:
                return BadParameter("include_simulated", "include_simulated must be true or false.");
        }

        if (!TrainingFormats.TryParse(format, out var trainingFormat) || trainingFormat is not (TrainingFormat.OpenAi or TrainingFormat.ShareGpt))
        {
            return BadParameter("format", "format must be openai or sharegpt.");
        }

        Guid? runId = null;
        if (run is not null)
        {
            if (!Guid.TryParse(run, out var parsedRun))
            {
                return BadParameter("run", "run must be a run id (a UUID).");
            }

            runId = parsedRun;
        }

        DateTimeOffset? sinceTime = null;
        if (since is not null)
        {
            if (Failures.FailureFilterQuery.ParseInstant(since) is not { } parsedSince)
            {
                return BadParameter("since", "since must be an ISO 8601 date or time, e.g. 2026-03-01T00:00:00Z.");
            }

            sinceTime = parsedSince;
        }

        Guid? datasetId = null;
        if (dataset is not null)
        {
            datasetId = Guid.TryParse(dataset, out var id) ? id : await importer.FindDatasetAsync(user.UserId, dataset, ct).ConfigureAwait(false);
            if (datasetId is null)
            {
                return BadParameter("dataset", $"no dataset named {dataset}.");
            }
        }

        var stamp = time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/zip";
        context.Response.Headers[HeaderNames.ContentDisposition] = new ContentDispositionHeaderValue("attachment")
        {
            FileName = $"training-{trainingFormat.ToWire()}-{stamp}.zip",
        }.ToString();

        // Create mode on the response stream writes each entry straight through (no seeking, nothing buffered whole).
        // ZipArchive writes its headers and the deflated data with synchronous writes, so this one response allows them.
        if (context.Features.Get<IHttpBodyControlFeature>() is { } bodyControl)
        {
            bodyControl.AllowSynchronousIO = true;
        }

        using (var zip = new ZipArchive(context.Response.Body, ZipArchiveMode.Create, leaveOpen: true))
        {
            TrainingExportManifest manifest;
            await using (var jsonl = zip.CreateEntry("training.jsonl", CompressionLevel.Fastest).Open())
            {
                manifest = await exporter.ExportAsync(
                    user.UserId, trainingFormat, new TrainingExportFilter(datasetId, runId, sinceTime, model, includeSimulated), jsonl, ct).ConfigureAwait(false);
            }

            await using var manifestStream = zip.CreateEntry("training.manifest.json", CompressionLevel.Fastest).Open();
            await JsonSerializer.SerializeAsync(manifestStream, manifest, TrainingExportManifest.JsonOptions, ct).ConfigureAwait(false);
        }

        return Results.Empty;
    }

    /// <summary>
    /// <c>POST /api/import?label=NAME&amp;format=auto|openai|sharegpt|messages-api&amp;name=FILE</c> with the file as the body:
    /// JSONL for openai/sharegpt/auto (streamed, any size), or one saved Messages API body / SSE transcript for
    /// messages-api. Answers the import's counts and its first bad lines.
    /// </summary>
    private static async Task<IResult> ImportAsync(
        HttpContext context, string? label, string? format, string? name, ICurrentUser user, DatasetImporter importer, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(label) || label.Length > 200)
        {
            return BadParameter("label", "label (the dataset name) is required, up to 200 characters.");
        }

        if (!TrainingFormats.TryParse(format ?? "auto", out var trainingFormat))
        {
            return BadParameter("format", "format must be auto, openai, sharegpt or messages-api.");
        }

        var contentType = context.Request.ContentType?.Split(';')[0].Trim();
        if (contentType is null || !ImportContentTypes.Contains(contentType, StringComparer.OrdinalIgnoreCase))
        {
            return Results.Problem(
                $"The body must be one of {string.Join(", ", ImportContentTypes)}.",
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Invalid parameter 'Content-Type'",
                extensions: new Dictionary<string, object?> { ["parameter"] = "Content-Type" });
        }

        // A dataset file may be gigabytes; it is read as a stream, so the default body size limit does not apply here.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        var fileName = string.IsNullOrWhiteSpace(name) ? "upload" : Path.GetFileName(name);
        return Results.Ok(ImportResponse.From(
            await importer.ImportStreamAsync(user.UserId, label, trainingFormat, fileName, context.Request.Body, ct).ConfigureAwait(false)));
    }
}
