using System.Net;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Api;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace BRun.Diagnostics.Web.Tests.Api;

/// <summary>
/// A NUL character (U+0000) in what a client sends: Postgres can neither store nor match it, and each of these
/// requests answered 500 with the dashboard's HTML error page until the input was checked.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class NulTextApiTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task Text_with_a_NUL_is_a_400_naming_its_field_and_nothing_is_stored()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(user);
        using var client = host.NewClient();
        using var run = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/runs", token, new { count = 1, max_tokens = 100 });
        Assert.Equal(HttpStatusCode.Created, run.StatusCode);
        var runId = JsonDocument.Parse(await run.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        var requests = new (HttpMethod Method, string Path, object Body, string Field)[]
        {
            (HttpMethod.Post, "/api/templates", new { name = "with-nul", body = "Write about {{persona}}\0 now" }, "body"),
            (HttpMethod.Put, "/api/templates/default", new { body = "Write\0" }, "body"),
            (HttpMethod.Post, "/api/personas", new { key = "nul-persona", name = "Nul\0", description = "d" }, "name"),
            (HttpMethod.Post, "/api/arcs", new { key = "nul-arc", name = "Arc", description = "from\0 to" }, "description"),
            (HttpMethod.Post, "/api/runs", new { count = 1, template = "default\0", max_tokens = 100 }, "template"),
            (HttpMethod.Post, "/api/runs", new { count = 1, model = "claude\0", max_tokens = 100 }, "model"),
            (HttpMethod.Post, "/api/templates/default/render", new { persona = "new\0parent" }, "persona"),
            (HttpMethod.Put, $"/api/runs/{runId}/alert-rules", new { min_tasks = 5, webhook_url = "https://example.com/a\0b", webhook_format = "generic" }, "webhook_url"),
        };

        foreach (var (method, path, body, field) in requests)
        {
            using var response = await DashboardHost.SendAsync(client, method, path, token, body);
            var problem = await ApiAssert.ProblemNamingAsync(response, HttpStatusCode.BadRequest, field);
            Assert.DoesNotContain("   at ", problem, StringComparison.Ordinal);
        }

        await using var connection = await host.Db.DataSource.OpenConnectionAsync();
        Assert.Equal(
            (0L, 0L, 1L, 1),
            (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM prompt_templates WHERE name = 'with-nul'"),
                await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM personas WHERE key = 'nul-persona'"),
                await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM generation_runs WHERE created_by = @id", new { id = user.Id }),
                await connection.ExecuteScalarAsync<int>("SELECT current_version FROM prompt_templates WHERE name = 'default' AND owner_id IS NULL")));
    }

    [Theory]
    [InlineData("unstorable", 400, "note")]
    [InlineData("postgres", 400, null)]
    [InlineData("other", 500, null)]
    public async Task An_exception_no_endpoint_answered_is_problem_json_without_its_details(string thrown, int status, string? parameter)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = services };
        context.Request.Path = "/api/anything";
        context.Response.Body = new MemoryStream();
        Exception exception = thrown switch
        {
            "unstorable" => new UnstorableTextException("note"),
            "postgres" => new Npgsql.PostgresException("invalid byte sequence for encoding \"UTF8\": 0x00", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.CharacterNotInRepertoire),
            _ => new InvalidOperationException("connection string Password=secret"),
        };
        var middleware = new ApiExceptionMiddleware(_ => throw exception, NullLogger<ApiExceptionMiddleware>.Instance);

        await middleware.InvokeAsync(context);

        context.Response.Body.Position = 0;
        var body = await new StreamReader(context.Response.Body).ReadToEndAsync();
        using var json = JsonDocument.Parse(body);
        Assert.Equal(
            (status, "application/problem+json", parameter),
            (context.Response.StatusCode, context.Response.ContentType, json.RootElement.TryGetProperty("parameter", out var named) ? named.GetString() : null));
        Assert.DoesNotContain("secret", body, StringComparison.Ordinal);
        Assert.DoesNotContain("0x00", body, StringComparison.Ordinal);
    }
}
