using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Simulator.Tests;

public class ClaudeSimulatorServerTests
{
    [Fact]
    public async Task StartAsync_WithPortZero_ListensOnAFreeLoopbackPort()
    {
        await using var server = await ClaudeSimulatorServer.StartAsync(SimulatorFixture.TestOptions());

        Assert.Equal("127.0.0.1", server.BaseUrl.Host);
        Assert.NotEqual(0, server.BaseUrl.Port);
    }

    [Fact]
    public async Task StartAsync_RejectsOptionsWhoseRatesAreAllZero()
    {
        var options = new SimulatorOptions
        {
            CompleteRate = 0, MaxTokensRate = 0, EndTurnCutRate = 0, StreamCutRate = 0, RefusalRate = 0, RateLimitedRate = 0, OverloadedRate = 0,
        };

        await Assert.ThrowsAsync<ValidationException>(() => ClaudeSimulatorServer.StartAsync(options));
    }

    [Fact]
    public async Task RequireApiKey_AnswersA401WithoutTheHeader()
    {
        var options = SimulatorFixture.TestOptions();
        options.RequireApiKey = true;
        await using var server = await ClaudeSimulatorServer.StartAsync(options);
        using var http = new HttpClient();

        using var response = await http.PostAsync(new Uri(server.BaseUrl, "v1/messages"), new StringContent("{}"));

        Assert.Equal(401, (int)response.StatusCode);
        Assert.Contains("authentication_error", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddClaudeSimulator_RunsTheServerForTheHostsLifetime()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddClaudeSimulator(o =>
        {
            o.ListenUrl = "http://127.0.0.1:0";
            o.MinLatency = TimeSpan.Zero;
            o.MaxLatency = TimeSpan.Zero;
        });
        using var host = builder.Build();
        await host.StartAsync();
        var baseUrl = host.Services.GetRequiredService<ClaudeSimulatorHostedService>().BaseUrl;
        using var http = new HttpClient();

        using var response = await http.PostAsync(
            new Uri(baseUrl, "v1/messages"),
            new StringContent("""{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"[simulate:overloaded] host"}]}"""));
        await host.StopAsync();

        Assert.Equal(529, (int)response.StatusCode);
    }
}
