using System.Globalization;
using BRun.Diagnostics.Infrastructure.Failures;
using Microsoft.Extensions.Primitives;

namespace BRun.Diagnostics.Web.Api;

/// <summary>
/// <c>page</c> (1-based) and <c>limit</c> from a query, strictly: whole numbers in range, each at most once.
/// A page past the end is an empty page with the right total, never an overflow.
/// </summary>
public static class PageQuery
{
    public const string PageKey = "page";
    public const string LimitKey = "limit";

    /// <summary>The paging parameter names, for a filter parser's list of other keys.</summary>
    public static IReadOnlyList<string> Keys { get; } = [PageKey, LimitKey];

    /// <summary>The page request, or the problem with page or limit.</summary>
    public static (PageRequest? Page, ParameterProblem? Problem) Parse(IQueryCollection query, int defaultLimit, int maxLimit = PageRequest.MaxPageSize)
    {
        ArgumentNullException.ThrowIfNull(query);
        var pageAccepts = $"a whole number from 1 to {int.MaxValue.ToString("N0", CultureInfo.InvariantCulture)} (digits only)";
        var limitAccepts = $"a whole number from 1 to {maxLimit.ToString(CultureInfo.InvariantCulture)}";
        var (page, pageProblem) = ParseNumber(query[PageKey], PageKey, 1, int.MaxValue, 1, pageAccepts);
        if (pageProblem is not null)
        {
            return (null, pageProblem);
        }

        var (limit, limitProblem) = ParseNumber(query[LimitKey], LimitKey, 1, maxLimit, defaultLimit, limitAccepts);
        if (limitProblem is not null)
        {
            return (null, limitProblem);
        }

        return (new PageRequest(page - 1, limit), null);
    }

    /// <summary>One whole-number parameter in [min, max], or <paramref name="fallback"/> when absent or empty.</summary>
    public static (int Value, ParameterProblem? Problem) ParseNumber(StringValues values, string key, int min, int max, int fallback, string accepts)
    {
        if (values.Count > 1)
        {
            return (0, new ParameterProblem(key, $"{key} is given {values.Count} times; give it at most once.", accepts));
        }

        var text = values.ToString();
        if (string.IsNullOrWhiteSpace(text))
        {
            return (fallback, null);
        }

        // Digits only: no sign, no exponent, no decimals, no thousands separators, nothing culture-dependent.
        if (!text.All(char.IsAsciiDigit))
        {
            return (0, new ParameterProblem(key, $"{key} '{Failures.FailureFilterQuery.Shorten(text)}' is not a whole number.", accepts));
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            return (0, new ParameterProblem(key, $"{key} {Failures.FailureFilterQuery.Shorten(text)} is out of range.", accepts));
        }

        return (value, null);
    }
}
