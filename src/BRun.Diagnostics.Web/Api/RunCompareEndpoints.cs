using System.Text.Json.Serialization;
using BRun.Diagnostics.Web.Components.Runs;
using BRun.Diagnostics.Web.Runs;

namespace BRun.Diagnostics.Web.Api;

/// <summary>One output-token bucket: responses whose output_tokens are at least <c>lower_bound</c> (the last bucket is open-ended).</summary>
public sealed record OutputTokenBucketResponse(
    [property: JsonPropertyName("lower_bound")] int LowerBound,
    [property: JsonPropertyName("failures")] long Failures,
    [property: JsonPropertyName("successes")] long Successes);

/// <summary>One run's side of a comparison: its status and counts, its rates, and its output-token histogram.</summary>
public sealed record RunCompareSideResponse(
    [property: JsonPropertyName("run")] RunStatusResponse Run,
    [property: JsonPropertyName("ended")] int Ended,
    [property: JsonPropertyName("failure_rate")] double? FailureRate,
    [property: JsonPropertyName("cost_per_good_conversation_usd")] decimal? CostPerGoodConversationUsd,
    [property: JsonPropertyName("source_run_id")] Guid? SourceRunId,
    [property: JsonPropertyName("source_run_url")] string? SourceRunUrl,
    [property: JsonPropertyName("output_tokens")] IReadOnlyList<OutputTokenBucketResponse> OutputTokens)
{
    public static RunCompareSideResponse From(RunComparisonSide side)
    {
        ArgumentNullException.ThrowIfNull(side);
        return new(RunStatusResponse.From(side.Run), side.Ended, side.FailureRate, side.CostPerGoodConversation, side.Run.SourceRunId,
            side.Run.SourceRunId is { } source ? $"/api/runs/{source:D}" : null,
            [.. side.OutputTokens.Select(b => new OutputTokenBucketResponse(b.LowerBound, b.Failures, b.Successes))]);
    }
}

/// <summary>One row of a comparison table; rates are shares of ended tasks, the change is B minus A in percentage points.</summary>
public sealed record RunCompareRowResponse(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("count_a")] long CountA,
    [property: JsonPropertyName("rate_a")] double? RateA,
    [property: JsonPropertyName("count_b")] long CountB,
    [property: JsonPropertyName("rate_b")] double? RateB,
    [property: JsonPropertyName("change_points")] double? ChangePoints)
{
    public static RunCompareRowResponse From(RunComparisonRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new(row.Key, row.CountA, row.RateA, row.CountB, row.RateB, row.ChangePoints);
    }
}

/// <summary>What the compare page shows, as JSON.</summary>
public sealed record RunCompareResponse(
    [property: JsonPropertyName("a")] RunCompareSideResponse A,
    [property: JsonPropertyName("b")] RunCompareSideResponse B,
    [property: JsonPropertyName("b_is_rerun_of_a")] bool BIsRerunOfA,
    [property: JsonPropertyName("bucket_width")] int BucketWidth,
    [property: JsonPropertyName("by_failure_type")] IReadOnlyList<RunCompareRowResponse> ByFailureType,
    [property: JsonPropertyName("by_stop_reason")] IReadOnlyList<RunCompareRowResponse> ByStopReason,
    [property: JsonPropertyName("by_pattern")] IReadOnlyList<RunCompareRowResponse> ByPattern,
    [property: JsonPropertyName("page_url")] string PageUrl)
{
    public static RunCompareResponse From(RunComparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        return new(RunCompareSideResponse.From(comparison.A), RunCompareSideResponse.From(comparison.B), comparison.BIsRerunOfA, comparison.BucketWidth,
            [.. comparison.ByFailureType.Select(RunCompareRowResponse.From)],
            [.. comparison.ByStopReason.Select(RunCompareRowResponse.From)],
            [.. comparison.ByPattern.Select(RunCompareRowResponse.From)],
            RunComparePage.Url(comparison.A.Run.Id, comparison.B.Run.Id));
    }
}

/// <summary>
/// <c>GET /api/runs/compare?a=RUN&amp;b=RUN</c>: the compare page's data, read by the same service. A run the caller
/// may not see (row-level security hides another member's) is a 404 naming its parameter.
/// </summary>
public static class RunCompareEndpoints
{
    public const string AKey = "a";
    public const string BKey = "b";

    private const string ExampleRunId = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

    private static IReadOnlyList<ApiQueryParameter> Parameters { get; } =
    [
        new(AKey, "The first run's id (the source, for a re-run).", Required: true, Example: ExampleRunId),
        new(BKey, "The second run's id (the re-run).", Required: true, Example: ExampleRunId),
    ];

    public static IEndpointRouteBuilder MapRunCompareApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/api/runs/compare", CompareAsync)
            .WithTags("Runs")
            .WithName("CompareRuns")
            .WithSummary("Two runs side by side: counts, failure rate by type, stop reason and pattern, output-token histograms, cost per good conversation.")
            .WithQueryParameters(Parameters)
            .Produces<RunCompareResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> CompareAsync(HttpContext context, RunComparisonService comparisons, CancellationToken ct)
    {
        var query = context.Request.Query;
        if (ApiQueryParameters.RefuseUnknownOrRepeated(query, Parameters) is { } unknown)
        {
            return unknown.ToResult();
        }

        var (a, aProblem) = ParseRun(query, AKey);
        if (aProblem is not null)
        {
            return aProblem.ToResult();
        }

        var (b, bProblem) = ParseRun(query, BKey);
        if (bProblem is not null)
        {
            return bProblem.ToResult();
        }

        var (comparison, missing) = await comparisons.CompareOrMissingAsync(a, b, ct).ConfigureAwait(false);
        if (comparison is not null)
        {
            return Results.Ok(RunCompareResponse.From(comparison));
        }

        var (key, id) = missing == RunComparisonSideName.A ? (AKey, a) : (BKey, b);
        return Results.Problem(
            title: "Not found",
            detail: $"No run {id:D} that you can see.",
            statusCode: StatusCodes.Status404NotFound,
            extensions: new Dictionary<string, object?> { ["parameter"] = key });
    }

    private static (Guid Id, ParameterProblem? Problem) ParseRun(IQueryCollection query, string key)
    {
        var text = query[key].ToString();
        if (text.Length == 0)
        {
            return (default, new ParameterProblem(key, $"{key} is missing.", "a run id, a GUID such as " + ExampleRunId));
        }

        return ApiIds.Parse(text) is { } id ? (id, null) : (default, ApiIds.Problem(key, text, "run id"));
    }
}
