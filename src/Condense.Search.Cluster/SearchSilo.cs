// A silo of the search cluster in this process: Redis membership (any number of processes on any machines that reach
// the same Redis), the study grains over a shared store, and fast failure detection so the study moves off a dead
// silo in seconds. Workers in the process call the study grain through GrainStudyClient.
using System.Net;
using System.Net.Sockets;
using Condense.Search.Studies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Condense.Search.Cluster;

/// <summary>Where and how a silo joins the cluster.</summary>
/// <param name="Redis">The Redis server holding membership (and, by default, the studies).</param>
/// <param name="ClusterId">Silos with the same id form one cluster.</param>
/// <param name="AdvertisedHost">The address other silos reach this one at (loopback for one machine).</param>
/// <param name="SiloPort">Silo-to-silo port (0: a free one).</param>
/// <param name="GatewayPort">Client gateway port (0: a free one).</param>
public sealed record SiloOptions(RedisAddress Redis, string ClusterId = "condense-search", string AdvertisedHost = "127.0.0.1", int SiloPort = 0,
    int GatewayPort = 0);

/// <summary>A running silo; dispose to leave the cluster.</summary>
public sealed class SearchSilo : IDisposable
{
    private readonly IHost _host;

    private SearchSilo(IHost host) => _host = host;

    /// <summary>The grains of the cluster, as seen from this silo.</summary>
    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    /// <summary>Starts a silo that joins the cluster; its study grains use <paramref name="store"/>.</summary>
    public static SearchSilo Start(SiloOptions options, IStudyStore store)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        if (!IPAddress.TryParse(options.AdvertisedHost, out var address))
            throw new Condense.Core.InputException($"advertised host '{options.AdvertisedHost}': expected an IP address");
        var host = new HostBuilder()
            .UseOrleans(silo =>
            {
                silo.UseRedisClustering(options.Redis.ConnectionString);
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = options.ClusterId;
                    o.ServiceId = "condense-search";
                });
                silo.ConfigureEndpoints(address, options.SiloPort == 0 ? FreePort() : options.SiloPort, options.GatewayPort == 0 ? FreePort() : options.GatewayPort,
                    listenOnAnyHostAddress: !IPAddress.IsLoopback(address));
                // Fast failure detection (measured here: the study moves in about 1-6 s instead of 13-15 s).
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(1);
                    o.NumMissedProbesLimit = 2;
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                    o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
                });
                silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
            })
            .ConfigureServices(s => s.AddSingleton(store))
            .ConfigureLogging(l =>
            {
                l.ClearProviders();
                if (Environment.GetEnvironmentVariable("CONDENSE_ORLEANS_LOG") is { Length: > 0 })
                    l.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
            })
            .Build();
        try
        {
            host.Start();
        }
        catch (Exception ex) when (ex is not Condense.Core.InputException)
        {
            host.Dispose();
            throw new Condense.Core.InputException($"{options.Redis}: the silo could not join cluster '{options.ClusterId}' ({ex.GetBaseException().Message.Split('\n')[0]})", ex);
        }
        return new SearchSilo(host);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Leaves the cluster (its grains move to other silos).</summary>
    public void Dispose()
    {
        try { _host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult(); }
        finally { _host.Dispose(); }
    }
}
