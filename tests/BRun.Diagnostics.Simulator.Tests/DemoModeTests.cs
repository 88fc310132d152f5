using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Simulator.Tests;

/// <summary>Demo mode's simulator plays an organisation with real limits; explicit settings and other hosts are untouched.</summary>
public sealed class DemoModeTests
{
    [Fact]
    public void DemoMode_TheSimulatorEnforcesTier1LikeLimits_AndSendsNoRandom429s()
    {
        var options = SimulatorOptionsOf(new() { ["Demo:Enabled"] = "true" });

        Assert.Equal(50, options?.RequestsPerMinute);
        Assert.Equal(150_000, options?.InputTokensPerMinute);
        Assert.Equal(40_000, options?.OutputTokensPerMinute);
        Assert.Equal(TimeSpan.FromMinutes(1), options?.RateLimitWindow);
        Assert.Equal(0, options?.RateLimitedRate);
    }

    [Fact]
    public void DemoMode_AnExplicitSimulatorSettingWins()
    {
        var options = SimulatorOptionsOf(new() { ["Demo:Enabled"] = "true", ["Simulator:OutputTokensPerMinute"] = "0", ["Simulator:RateLimitedRate"] = "0.5" });

        Assert.Equal(0, options?.OutputTokensPerMinute);
        Assert.Equal(0.5, options?.RateLimitedRate);
        Assert.Equal(50, options?.RequestsPerMinute);
    }

    [Fact]
    public void DemoMode_WithOrganizationLimitsOff_KeepsTheUnlimitedSimulator()
    {
        var options = SimulatorOptionsOf(new() { ["Demo:Enabled"] = "true", ["Demo:OrganizationLimits"] = "false" });

        Assert.Equal(0, options?.RequestsPerMinute);
        Assert.Equal(0, options?.OutputTokensPerMinute);
        Assert.Equal(new SimulatorOptions().RateLimitedRate, options?.RateLimitedRate);
    }

    [Fact]
    public void WithoutDemoMode_NothingIsSet()
    {
        var builder = Builder(new());

        Assert.False(builder.UseClaudeSimulatorInDemoMode());
        Assert.Null(builder.Configuration["Simulator:OutputTokensPerMinute"]);
        Assert.Null(builder.Configuration["Claude:BaseUrl"]);
    }

    private static SimulatorOptions? SimulatorOptionsOf(Dictionary<string, string?> settings)
    {
        var builder = Builder(settings);
        Assert.True(builder.UseClaudeSimulatorInDemoMode());
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<SimulatorOptions>>().Value;
    }

    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }
}
