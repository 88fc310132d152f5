using System.Globalization;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Failures;

namespace BRun.Diagnostics.Web.Api;

/// <summary>
/// A query parameter an endpoint reads itself (through <see cref="FailureFilterQuery"/> or <see cref="PageQuery"/>)
/// rather than through model binding, which would answer a bad value with an empty 400. Attached to the endpoint as
/// metadata, it is what the OpenAPI document lists and what the API walker test sends bad values to.
/// </summary>
public sealed record ApiQueryParameter(
    string Name, string Description, bool IsInteger = false, IReadOnlyList<string>? Values = null, int? Minimum = null, int? Maximum = null,
    bool Required = false, string? Example = null);

/// <summary>The query parameters of an endpoint (metadata).</summary>
public sealed record ApiQueryParametersMetadata(IReadOnlyList<ApiQueryParameter> Parameters);

/// <summary>The API's shared parameter descriptions.</summary>
public static class ApiQueryParameters
{
    public static IReadOnlyList<ApiQueryParameter> FailureFilter { get; } =
    [
        new(FailureFilterState.FailureTypeKey, "Failure type: " + FailureFilterQuery.FailureTypeAccepts + ".", Values: FailureFilterQuery.FailureTypes),
        new(FailureFilterState.StopReasonKey, "Exact stop_reason: " + FailureFilterQuery.StopReasonAccepts + "."),
        new(FailureFilterState.PatternKey, "Exact truncation pattern: " + FailureFilterQuery.PatternAccepts + "."),
        new(FailureFilterState.ModelKey, "Exact model: " + FailureFilterQuery.ModelAccepts + "."),
        new(FailureFilterState.RunIdKey, "Only this run's failures: " + FailureFilterQuery.RunIdAccepts + "."),
        new(FailureFilterState.FromKey, "Earliest created_at included: " + FailureFilterQuery.TimeAccepts + " (UTC when no offset is given)."),
        new(FailureFilterState.ToKey, "created_at before this: " + FailureFilterQuery.TimeAccepts + "; a date alone includes that whole day."),
        new(FailureFilterState.QueryKey, "Case-insensitive text in the truncation details or the error message: " + FailureFilterQuery.QueryAccepts + "."),
    ];

    public static ApiQueryParameter ExportFormat { get; } =
        new(FailedGenerationEndpoints.FormatKey, "csv (default), jsonl, or zip (every RAW report plus index.csv).", Values: ["csv", "jsonl", "zip"]);

    /// <summary>Keyset paging of the failed-generations list.</summary>
    public static ApiQueryParameter After { get; } = new(
        FailedGenerationEndpoints.AfterKey,
        "Keyset paging: the rows after this cursor (next_cursor of an earlier page, with the same filters), instead of page. "
        + "Costs the same at any depth, where a deep page number walks every row before it.");

    public static IReadOnlyList<ApiQueryParameter> Paging(int defaultLimit, int maxLimit = PageRequest.MaxPageSize) =>
    [
        new(PageQuery.PageKey, "1-based page number (default 1). A page past the end is empty.", IsInteger: true, Minimum: 1, Maximum: int.MaxValue),
        new(PageQuery.LimitKey, string.Create(CultureInfo.InvariantCulture, $"Items per page, 1 to {maxLimit} (default {defaultLimit})."), IsInteger: true, Minimum: 1, Maximum: maxLimit),
    ];

    /// <summary>
    /// The first parameter of <paramref name="query"/> that is not in <paramref name="parameters"/> or is given more than
    /// once, as a problem; null when there is none. An unknown name is refused so a misspelt filter cannot widen a result.
    /// </summary>
    public static ParameterProblem? RefuseUnknownOrRepeated(IQueryCollection query, IReadOnlyList<ApiQueryParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var (key, values) in query)
        {
            var known = parameters.FirstOrDefault(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase));
            var shown = FailureFilterQuery.Shorten(key);
            if (known is null)
            {
                return new ParameterProblem(shown, $"'{shown}' is not a parameter of this endpoint.", parameters.Count == 0 ? "no query parameters" : string.Join(", ", parameters.Select(p => p.Name)));
            }

            if (values.Count > 1)
            {
                return new ParameterProblem(known.Name, $"{known.Name} is given {values.Count} times; give it at most once.", known.Description);
            }
        }

        return null;
    }

    /// <summary>An optional true/false parameter, exactly "true" or "false" (lower case), <paramref name="fallback"/> when absent.</summary>
    public static (bool Value, ParameterProblem? Problem) ParseFlag(IQueryCollection query, string key, bool fallback)
    {
        ArgumentNullException.ThrowIfNull(query);
        var text = query[key].ToString();
        return text switch
        {
            "" => (fallback, null),
            "true" => (true, null),
            "false" => (false, null),
            _ => (fallback, new ParameterProblem(key, $"{key} '{FailureFilterQuery.Shorten(text)}' is not true or false.", "true or false (lower case)")),
        };
    }

    /// <summary>
    /// The id of a <c>/{id}</c> route that takes only <paramref name="parameters"/> in its query: the id, or the 400
    /// naming <c>id</c> (or the unknown parameter).
    /// </summary>
    public static (Guid Id, IResult? Problem) RouteId(HttpContext context, string? id, string what, IReadOnlyList<ApiQueryParameter>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (ApiIds.Parse(id) is not { } parsed)
        {
            return (default, ApiIds.Problem("id", id, what).ToResult());
        }

        return RefuseUnknownOrRepeated(context.Request.Query, parameters ?? []) is { } unknown ? (parsed, unknown.ToResult()) : (parsed, null);
    }

    /// <summary>Declares the query parameters the endpoint reads (for OpenAPI and the API walker test).</summary>
    public static RouteHandlerBuilder WithQueryParameters(this RouteHandlerBuilder builder, IReadOnlyList<ApiQueryParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithMetadata(new ApiQueryParametersMetadata(parameters));
    }
}
