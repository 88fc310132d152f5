using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Pricing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Tests.Pricing;

public class PricingOptionsTests
{
    [Fact]
    public void AConfiguredModel_OverridesItsBuiltInPrice_AndOthersKeepTheirs()
    {
        var prices = Build(new Dictionary<string, string?>
        {
            ["Pricing:Models:claude-sonnet-4-5:InputPerMTok"] = "1",
            ["Pricing:Models:claude-sonnet-4-5:OutputPerMTok"] = "2",
            ["Pricing:Models:claude-sonnet-4-5:CacheWritePerMTok"] = "1.25",
            ["Pricing:Models:claude-sonnet-4-5:CacheReadPerMTok"] = "0.1",
        }).GetRequiredService<PriceTable>();

        Assert.Equal(3m, prices.Cost("claude-sonnet-4-5-20250929", new Usage(1_000_000, 1_000_000, null, null))!.Total);
        Assert.Equal(PriceTable.Defaults["claude-haiku-4-5"], prices.Find("claude-haiku-4-5"));
    }

    [Fact]
    public void ANegativePrice_FailsValidation()
    {
        var services = Build(new Dictionary<string, string?> { ["Pricing:Models:m:InputPerMTok"] = "-1" });

        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<PricingOptions>>().Value);
    }

    [Theory]
    [InlineData(null, "https://api.anthropic.com", false)]
    [InlineData("sk-ant-x", "https://api.anthropic.com", true)]
    [InlineData(null, "http://127.0.0.1:5099", true)]
    public void Readiness_RefusesOnlyWithNoKeyAndTheDefaultAddress(string? key, string baseUrl, bool ready)
    {
        var readiness = new ClaudeReadiness(Options.Create(new ClaudeOptions { ApiKey = key, BaseUrl = baseUrl }));

        Assert.Equal(ready, readiness.Problem is null);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        settings["ConnectionStrings:Postgres"] = "Host=127.0.0.1";
        settings["ConnectionStrings:Blobs"] = "UseDevelopmentStorage=true";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddDiagnosticsInfrastructure(configuration);
        return services.BuildServiceProvider();
    }
}
