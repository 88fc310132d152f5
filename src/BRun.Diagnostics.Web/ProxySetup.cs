using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace BRun.Diagnostics.Web;

/// <summary>
/// Running behind a reverse proxy (configuration section <c>ForwardedHeaders</c>). Off by default: trusting
/// X-Forwarded-For from anyone would let a client choose the address the sign-in throttle counts against.
/// </summary>
public sealed class ProxyOptions
{
    public const string SectionName = "ForwardedHeaders";

    /// <summary>Honour X-Forwarded-For / -Proto / -Host from the proxies below. Default: false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Addresses of the proxies to trust, e.g. <c>10.0.0.5</c>. Default: loopback only.</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of proxies to trust, in CIDR form, e.g. <c>10.0.0.0/8</c>. Default: none.</summary>
    public string[] KnownNetworks { get; set; } = [];

    /// <summary>How many proxy hops to read back. Default: 1.</summary>
    [Range(1, 10)]
    public int ForwardLimit { get; set; } = 1;
}

public static class ProxySetup
{
    public static IHostApplicationBuilder AddDiagnosticsProxySupport(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ProxyOptions>()
            .Bind(builder.Configuration.GetSection(ProxyOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.KnownProxies.All(p => IPAddress.TryParse(p, out _)), "ForwardedHeaders:KnownProxies must be IP addresses.")
            .Validate(o => o.KnownNetworks.All(n => System.Net.IPNetwork.TryParse(n, out _)), "ForwardedHeaders:KnownNetworks must be CIDR networks (10.0.0.0/8).")
            .ValidateOnStart();
        var proxy = builder.Configuration.GetSection(ProxyOptions.SectionName).Get<ProxyOptions>() ?? new ProxyOptions();
        builder.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            o.ForwardLimit = proxy.ForwardLimit;
            foreach (var address in proxy.KnownProxies)
            {
                if (IPAddress.TryParse(address, out var parsed))
                {
                    o.KnownProxies.Add(parsed);
                }
            }

            foreach (var network in proxy.KnownNetworks)
            {
                if (System.Net.IPNetwork.TryParse(network, out var parsed))
                {
                    o.KnownIPNetworks.Add(parsed);
                }
            }
        });
        return builder;
    }

    public static WebApplication UseDiagnosticsProxySupport(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Configuration.GetValue<bool>($"{ProxyOptions.SectionName}:Enabled"))
        {
            app.UseForwardedHeaders();
        }

        return app;
    }
}
