using System.Net;
using System.Text.Json;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Design;

[Collection(IntegrationEnvironment.Collection)]
public sealed class GenerationDesignApiTests(IntegrationEnvironment env)
{
    private const string Body = "Persona: {{persona}}\nVariation {{variation}}";

    [Fact]
    public async Task An_unknown_placeholder_is_a_400_problem_naming_it()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var token = await host.CreateTokenAsync(await host.CreateUserAsync());
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/templates", token, new { name = "typo", body = "Hi {{persona}} {{tone}}" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("tone", problem.RootElement.GetProperty("placeholder").GetString());
    }

    [Fact]
    public async Task A_member_gets_404_for_another_members_private_template_and_cannot_run_it()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var alice = await host.CreateTokenAsync(await host.CreateUserAsync());
        var bob = await host.CreateTokenAsync(await host.CreateUserAsync());
        using var client = host.NewClient();
        using var created = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/templates", alice, new { name = "alice-only", body = Body });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var read = await DashboardHost.SendAsync(client, HttpMethod.Get, "/api/templates/alice-only", bob);
        using var run = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/runs", bob, new { count = 2, template = "alice-only" });
        using var list = await DashboardHost.SendAsync(client, HttpMethod.Get, "/api/templates", bob);

        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, run.StatusCode);
        Assert.DoesNotContain("alice-only", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_answers_the_prompt_its_tokens_and_the_estimate()
    {
        // count_tokens is answered by the in-process simulator, which runs only in demo mode.
        await using var host = await DashboardHost.StartAsync(env, new Dictionary<string, string?> { ["Demo:Enabled"] = "true" });
        var token = await host.CreateTokenAsync(await host.CreateUserAsync());
        using var client = host.NewClient();

        using var response = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/templates/default/render", token,
            new { persona = "new_parent", emotional_arc = "fear_to_confidence", training_topic = "college_savings", conversations = 20 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("first-time father", json.RootElement.GetProperty("prompt").GetString(), StringComparison.Ordinal);
        Assert.True(json.RootElement.GetProperty("input_tokens").GetInt32() > 0);
        Assert.True(json.RootElement.GetProperty("estimated_cost_usd").GetDecimal() > 0);
    }

    [Fact]
    public async Task A_matrix_run_over_the_api_reports_its_design_and_breakdown()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var token = await host.CreateTokenAsync(await host.CreateUserAsync());
        using var client = host.NewClient();

        using var created = await DashboardHost.SendAsync(client, HttpMethod.Post, "/api/runs", token, new
        {
            template = "default",
            matrix = new
            {
                personas = new[] { new { key = "gig_worker" }, new { key = "recent_widow" } },
                emotional_arcs = new[] { new { key = "grief_to_stability" } },
                training_topics = new[] { new { key = "windfall" } },
                per_combination = 2,
            },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();

        using var design = await DashboardHost.SendAsync(client, HttpMethod.Get, $"/api/runs/{id}/design", token);

        using var json = JsonDocument.Parse(await design.Content.ReadAsStringAsync());
        var personas = json.RootElement.GetProperty("breakdown").EnumerateArray()
            .Where(r => r.GetProperty("dimension").GetString() == "persona")
            .ToDictionary(r => r.GetProperty("key").GetString()!, r => r.GetProperty("total").GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["gig_worker"] = 2, ["recent_widow"] = 2 }, personas);
    }
}
