using System.Text.Json.Serialization;
using BRun.Diagnostics.Infrastructure.Datasets;

namespace BRun.Diagnostics.Web.Api;

/// <summary>What <c>POST /api/import</c> answers.</summary>
public sealed record ImportResponse(
    [property: JsonPropertyName("import_id")] Guid ImportId,
    [property: JsonPropertyName("dataset_id")] Guid DatasetId,
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("records")] long Records,
    [property: JsonPropertyName("imported")] long Imported,
    [property: JsonPropertyName("rejected")] long Rejected,
    [property: JsonPropertyName("bad_lines")] long BadLines,
    [property: JsonPropertyName("first_errors")] IReadOnlyList<ImportErrorResponse> FirstErrors)
{
    public static ImportResponse From(ImportSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new(summary.ImportId, summary.DatasetId, summary.DatasetName, summary.Records, summary.Imported, summary.Rejected, summary.BadLines,
            [.. summary.FirstErrors.Select(e => new ImportErrorResponse(e.Source, e.Line, e.Message))]);
    }
}

public sealed record ImportErrorResponse(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("line")] long Line,
    [property: JsonPropertyName("message")] string Message);
