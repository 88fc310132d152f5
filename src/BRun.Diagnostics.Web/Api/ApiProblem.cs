namespace BRun.Diagnostics.Web.Api;

/// <summary>
/// What is wrong with one request input, in the user's words: the parameter, what was wrong, and what it accepts.
/// Every 4xx of the API is a problem+json body (RFC 9457); for a 400 it names the parameter.
/// </summary>
public sealed record ParameterProblem(string Parameter, string Detail, string Accepted)
{
    /// <summary>A 400 (or <paramref name="status"/>) problem+json: <c>parameter</c> and <c>accepted</c> travel as extension members.</summary>
    public IResult ToResult(int status = StatusCodes.Status400BadRequest) => Results.Problem(
        title: "Invalid request parameter",
        detail: $"{Detail} Accepted: {Accepted}.",
        statusCode: status,
        extensions: new Dictionary<string, object?> { ["parameter"] = Parameter, ["accepted"] = Accepted });
}

/// <summary>The API's problem+json answers other than a bad parameter.</summary>
public static class ApiProblems
{
    public static IResult NotFound(string detail) => Results.Problem(
        title: "Not found", detail: detail, statusCode: StatusCodes.Status404NotFound);

    /// <summary>A 404 for a well-formed <paramref name="parameter"/> naming nothing the caller can see: it says which.</summary>
    public static IResult NotFound(string detail, string parameter) => Results.Problem(
        title: "Not found", detail: detail, statusCode: StatusCodes.Status404NotFound,
        extensions: new Dictionary<string, object?> { ["parameter"] = parameter });
}
