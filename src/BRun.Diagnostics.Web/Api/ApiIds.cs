namespace BRun.Diagnostics.Web.Api;

/// <summary>Ids in API routes: a GUID in its usual hyphenated form, anything else a 400 naming the route parameter.</summary>
public static class ApiIds
{
    public static Guid? Parse(string? value) => Guid.TryParseExact(value, "D", out var id) ? id : null;

    public static ParameterProblem Problem(string parameter, string? value, string what) => new(
        parameter,
        $"'{Failures.FailureFilterQuery.Shorten(value ?? string.Empty)}' is not a {what}.",
        $"a {what}, a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301");
}
