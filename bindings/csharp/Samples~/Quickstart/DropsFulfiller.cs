// Fulfill Twitch Drops from a Unity scene: add this component to a GameObject and fill in its
// fields. It grants every CLAIMED entitlement of the game once and marks it FULFILLED, on a
// worker thread, so the game never waits on the network. The client secret is a credential:
// run this where it is safe (a dedicated server build, an editor tool), never in a player
// build you ship.
using System.Collections.Concurrent;
using System.IO;
using System.Threading.Tasks;
using TwitchDrops;
using UnityEngine;

public class DropsFulfiller : MonoBehaviour
{
    public string clientId;
    public string clientSecret;
    public string gameId;
    public string helixUrl; // empty: Twitch's (a fake Twitch's URL for tests)
    public string authUrl;

    // Grants made on the worker thread, shown on the main thread (Unity objects live there).
    private readonly ConcurrentQueue<GrantRequest> given = new ConcurrentQueue<GrantRequest>();
    private DropsClient client;
    private Journal journal;
    private Task<FulfillReport> run;

    private void Start()
    {
        var config = new DropsClientConfig(clientId) { ClientSecret = clientSecret };
        if (!string.IsNullOrEmpty(helixUrl)) config.HelixUrl = helixUrl;
        if (!string.IsNullOrEmpty(authUrl)) config.AuthUrl = authUrl;
        client = new DropsClient(config);
        // Keep the journal from run to run: it is what keeps a crash from granting twice.
        journal = Journal.File(Path.Combine(Application.persistentDataPath, "drops.journal"));
        run = client.FulfillAsync(new FulfillOptions { GameId = gameId }, journal, Grant);
    }

    // Called on the worker thread, once per entitlement. Give the reward durably here (your
    // backend or save data), then answer; an exception counts as Failed and the entitlement
    // stays CLAIMED for a later run. request.Resumed: a crash interrupted an earlier attempt,
    // so check your records for request.Id first.
    private GrantOutcome Grant(GrantRequest request)
    {
        if (request.UserId.Length == 0) return GrantOutcome.Failed("no viewer");
        given.Enqueue(request);
        return GrantOutcome.Granted;
    }

    private void Update()
    {
        GrantRequest request;
        while (given.TryDequeue(out request))
        {
            Debug.Log("gave " + request.BenefitId + " to viewer " + request.UserId);
        }
        if (run == null || !run.IsCompleted) return;
        if (run.IsFaulted)
        {
            Debug.LogError("drops: " + run.Exception.InnerException.Message);
        }
        else
        {
            Debug.Log("drops: " + run.Result.Fulfilled + " fulfilled, " + run.Result.Left + " left for a later run");
        }
        run = null;
    }

    private void OnDestroy()
    {
        // A run still going keeps what it uses alive until it returns.
        if (client != null) client.Dispose();
        if (journal != null) journal.Dispose();
    }
}
