using BRun.Diagnostics.Infrastructure.Claude;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

public class ClaudeServiceCollectionExtensionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddLogging();
        services.AddClaudeMessagesClient();
        return services.BuildServiceProvider();
    }

    [Fact]
    public void EnvironmentVariables_AreTheFallbackForKeyAndBaseUrl()
    {
        using var provider = Build(new() { ["ANTHROPIC_API_KEY"] = "from-env", ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9" });

        var options = provider.GetRequiredService<IOptions<ClaudeOptions>>().Value;

        Assert.Equal("from-env", options.ApiKey);
        Assert.Equal("http://127.0.0.1:9", options.BaseUrl);
    }

    [Fact]
    public void TheClaudeSection_WinsOverEnvironmentVariables()
    {
        using var provider = Build(new()
        {
            ["ANTHROPIC_API_KEY"] = "from-env",
            ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9",
            ["Claude:ApiKey"] = "from-section",
            ["Claude:BaseUrl"] = "http://127.0.0.1:10",
        });

        var options = provider.GetRequiredService<IOptions<ClaudeOptions>>().Value;

        Assert.Equal("from-section", options.ApiKey);
        Assert.Equal("http://127.0.0.1:10", options.BaseUrl);
    }

    [Fact]
    public void Defaults_FollowTheOfficialSdks()
    {
        using var provider = Build([]);

        var options = provider.GetRequiredService<IOptions<ClaudeOptions>>().Value;

        Assert.Equal("https://api.anthropic.com", options.BaseUrl);
        Assert.Equal(2, options.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromMinutes(10), options.Timeout);
        Assert.NotNull(provider.GetRequiredService<IClaudeMessagesClient>());
    }

    [Fact]
    public void OutOfRangeRetryAttempts_FailValidation()
    {
        using var provider = Build(new() { ["Claude:MaxRetryAttempts"] = "50" });

        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ClaudeOptions>>().Value);
    }
}
