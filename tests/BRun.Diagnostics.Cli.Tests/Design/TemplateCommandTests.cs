using System.Text.Json;
using BRun.Diagnostics.Cli.Tests.Pipeline;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Cli.Tests.Design;

[Collection(IntegrationEnvironment.Collection)]
public sealed class TemplateCommandTests(IntegrationEnvironment environment) : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private string _email = null!;
    private string _dir = null!;

    public async Task InitializeAsync()
    {
        _db = await environment.CreateDatabaseAsync();
        _email = (await _db.CreateUserAsync()).Email;
        _dir = Directory.CreateTempSubdirectory("brun-template-").FullName;
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Create_with_an_unknown_placeholder_fails_with_one_line_naming_it()
    {
        var file = Write("bad.txt", "Hello {{persona}}\nMood: {{persona_mood}}\n");

        var (exit, stdout, stderr) = await BrunAsync("template", "create", "--name", "bad", "--file", file, "--user", _email);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith("brun template create: ", stderr, StringComparison.Ordinal);
        Assert.Contains("{{persona_mood}}", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_file_that_cannot_be_read_is_a_usage_error_naming_it()
    {
        var missing = Path.Combine(_dir, "missing.txt");

        var (exit, stdout, stderr) = await BrunAsync("template", "create", "--name", "gone", "--file", missing, "--user", _email);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith($"brun template create: cannot read --file {missing}: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_makes_version_two_and_show_prints_either_version()
    {
        await BrunAsync("template", "create", "--name", "mine", "--file", Write("v1.txt", "One {{persona}}\n"), "--user", _email);

        var update = await BrunAsync("template", "update", "--name", "mine", "--file", Write("v2.txt", "Two {{persona}}\n"), "--user", _email);
        var current = await BrunAsync("template", "show", "mine", "--user", _email);
        var first = await BrunAsync("template", "show", "mine", "--version", "1", "--user", _email);

        Assert.Equal("mine version 2", update.StandardOutput.Trim());
        Assert.Equal("Two {{persona}}\n", current.StandardOutput);
        Assert.Equal("One {{persona}}\n", first.StandardOutput);
    }

    [Fact]
    public async Task Render_prints_the_prompt_its_token_count_and_the_cost_estimate()
    {
        var (exit, stdout, stderr) = await BrunAsync(
            "template", "render", "default", "--persona", "gig_worker", "--arc", "fear_to_confidence", "--topic", "debt_payoff",
            "--count", "10", "--format", "json", "--user", _email);

        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Contains("rideshare driver", json.RootElement.GetProperty("prompt").GetString(), StringComparison.Ordinal);
        Assert.True(json.RootElement.GetProperty("input_tokens").GetInt32() > 100);
        Assert.True(json.RootElement.GetProperty("estimated_cost_usd").GetDecimal() > 0);
    }

    [Fact]
    public async Task Persona_add_then_list_shows_it_as_private()
    {
        var add = await BrunAsync("persona", "add", "--key", "night_nurse", "--name", "Night-shift nurse", "--description", "Works nights, saves little.", "--user", _email);
        var list = await BrunAsync("persona", "list", "--user", _email);

        Assert.Equal(0, add.ExitCode);
        Assert.Contains(list.StandardOutput.Split('\n'), l => l.StartsWith("night_nurse\tNight-shift nurse\tprivate to ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_matrix_run_from_the_command_line_has_combinations_times_n_tasks()
    {
        var (exit, stdout, stderr) = await BrunAsync(
            "run", "create", "--personas", "gig_worker,new_parent", "--arcs", "fear_to_confidence", "--per-combination", "3", "--user", _email);
        Assert.True(exit == 0, stderr);

        var status = await BrunAsync("run", "status", stdout.Trim(), "--format", "json");

        using var json = JsonDocument.Parse(status.StandardOutput);
        // 2 personas x 1 arc x every usable topic (5 seeded) x 3.
        Assert.Equal(30, json.RootElement.GetProperty("total").GetInt32());
    }

    private string Write(string name, string body)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, body);
        return path;
    }

    private Task<(int ExitCode, string StandardOutput, string StandardError)> BrunAsync(params string[] arguments) =>
        BrunProcess.RunAsync(
            new Dictionary<string, string?>
            {
                ["ConnectionStrings__Postgres"] = _db.ConnectionString,
                ["ConnectionStrings__Blobs"] = environment.Azurite.ConnectionString,
                // The preview's count_tokens goes to the in-process simulator, which runs only in demo mode.
                ["Demo__Enabled"] = "true",
            },
            arguments);
}
