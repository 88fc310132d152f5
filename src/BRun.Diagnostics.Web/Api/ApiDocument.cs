using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace BRun.Diagnostics.Web.Api;

/// <summary>
/// The OpenAPI document of the HTTP API, served at <see cref="DocumentPath"/> by ASP.NET Core's built-in generator.
/// Query parameters that an endpoint reads itself (see <see cref="ApiQueryParameter"/>) are added to its operation
/// here, so the document lists exactly what the parsers accept.
/// </summary>
public static class ApiDocument
{
    public const string DocumentPath = "/openapi/v1.json";

    public static IServiceCollection AddApiDocument(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "BRun.Diagnostics API",
                    Version = "v1",
                    Description = "Runs (and their comparison), failed generations, datasets, and the retention log (admins). Authenticate with a cookie (dashboard) or 'Authorization: Bearer TOKEN' (brun token create). Every 4xx is application/problem+json; a 400 names the parameter in 'parameter' and what it accepts in 'accepted'.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<ApiQueryParametersMetadata>().FirstOrDefault() is { } metadata)
                {
                    operation.Parameters ??= [];
                    foreach (var parameter in metadata.Parameters)
                    {
                        operation.Parameters.Add(ToOpenApi(parameter));
                    }
                }

                return Task.CompletedTask;
            });
        });

    public static IEndpointRouteBuilder MapApiDocument(this IEndpointRouteBuilder endpoints)
    {
        // Anonymous: the document describes the API, it holds no data.
        endpoints.MapOpenApi(DocumentPath).AllowAnonymous();
        return endpoints;
    }

    /// <summary>Any other path under /api is a problem+json 404, not the dashboard's HTML page.</summary>
    public static IEndpointRouteBuilder MapApiNotFound(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/api/{**path}", (string? path, HttpContext context) =>
                // An endpoint that reads JSON is not matched for a body of another type, and this one is: say so
                // rather than that the endpoint does not exist.
                context.Request.ContentType is { Length: > 0 } && !context.Request.HasJsonContentType()
                    ? new ParameterProblem("Content-Type", $"The API reads request bodies as JSON, not {FailuresShorten(context.Request.ContentType)}.", "application/json")
                        .ToResult(StatusCodes.Status415UnsupportedMediaType)
                    : ApiProblems.NotFound($"There is no API endpoint /api/{FailuresShorten(path)}. See {DocumentPath}."))
            .ExcludeFromDescription();
        return endpoints;
    }

    private static string FailuresShorten(string? path) => Failures.FailureFilterQuery.Shorten(path ?? string.Empty);

    private static OpenApiParameter ToOpenApi(ApiQueryParameter parameter)
    {
        var schema = new OpenApiSchema { Type = parameter.IsInteger ? JsonSchemaType.Integer : JsonSchemaType.String };
        if (parameter.IsInteger)
        {
            schema.Format = "int32";
            schema.Minimum = parameter.Minimum?.ToString(System.Globalization.CultureInfo.InvariantCulture);
            schema.Maximum = parameter.Maximum?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (parameter.Values is { } values)
        {
            schema.Enum = [.. values.Select(v => (System.Text.Json.Nodes.JsonNode)System.Text.Json.Nodes.JsonValue.Create(v)!)];
        }

        return new OpenApiParameter
        {
            Name = parameter.Name,
            In = ParameterLocation.Query,
            Required = parameter.Required,
            Description = parameter.Description,
            Schema = schema,
        };
    }
}
