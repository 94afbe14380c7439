// "Link Twitch and claim your drops", in the game itself: the player links their Twitch
// account with a device code (shown on screen: no browser in the game, no secret in the
// build), then the game fetches that player's CLAIMED entitlements with the player's own
// token, gives each reward through OnDropGranted, and marks it FULFILLED — all frame by
// frame in Update(), never blocking the main thread. Requests go through UnityWebRequest.
using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TwitchDrops;
using UnityEngine;
using UnityEngine.Networking;

public class LinkTwitch : MonoBehaviour
{
    public string clientId;  // a public client: no secret ships in a player build
    public string gameId;
    public string helixUrl;  // empty: Twitch's (a fake Twitch's URL for tests)
    public string authUrl;

    // Give the reward in the game (save data, inventory), on the main thread. Throwing counts
    // as Failed: the entitlement stays CLAIMED and comes back next time.
    public event Action<GrantRequest> OnDropGranted;

    // What to show the player: the code and where to enter it, then progress.
    public string UserCode { get; private set; }
    public string VerificationUri { get; private set; }
    public string Status { get; private set; }

    private DropsClient client;
    private Journal journal;
    private DropsOperation<DeviceCode> starting;
    private DropsOperation<OAuthToken> linking;
    private FulfillRun run;

    private void Start()
    {
        var config = new DropsClientConfig(clientId);
        if (!string.IsNullOrEmpty(helixUrl)) config.HelixUrl = helixUrl;
        if (!string.IsNullOrEmpty(authUrl)) config.AuthUrl = authUrl;
        client = new DropsClient(config);
        // Kept from session to session: it keeps a crash from giving a reward twice.
        journal = Journal.File(Path.Combine(Application.persistentDataPath, "drops.journal"));
        starting = client.BeginStartDeviceFlow(new string[0]);
        starting.Sender = Send;
        Status = "asking Twitch for a code";
    }

    private void Update()
    {
        try
        {
            if (starting != null && !starting.Update())
            {
                var code = starting.Result;
                starting.Dispose();
                starting = null;
                UserCode = code.UserCode;
                VerificationUri = code.VerificationUri;
                Status = "go to " + VerificationUri + " and enter " + UserCode;
                Debug.Log(Status);
                linking = client.BeginFinishDeviceFlow(code);
                linking.Sender = Send;
                code.Dispose();
            }
            else if (linking != null && !linking.Update())
            {
                // The client now uses the player's token (and refreshes it). To skip the code
                // next time, store linking.Result.RefreshToken in the platform's secure storage.
                var token = linking.Result;
                linking.Dispose();
                linking = null;
                Status = "linked: claiming your drops";
                Debug.Log(Status + " (" + token.Scopes.Count + " scopes)");
                run = client.BeginFulfill(new FulfillOptions { GameId = gameId }, journal);
                run.Sender = Send;
                run.Grant = Give;
            }
            else if (run != null && !run.Update())
            {
                Status = run.Failure != null
                    ? "drops: " + run.Failure.Message
                    : "drops: " + run.Report.Fulfilled + " fulfilled, " + run.Report.Left + " left for later";
                Debug.Log(Status);
                run.Dispose();
                run = null;
            }
        }
        catch (DropsException e)
        {
            // The player refused, the code expired, Twitch is down: say so, try again later.
            Status = "Twitch: " + e.Message;
            Debug.LogError(Status);
            Stop();
        }
    }

    private GrantOutcome Give(GrantRequest request)
    {
        // request.Resumed: a crash interrupted an earlier attempt; check your save data for
        // request.Id and answer Granted if the reward is already there.
        if (OnDropGranted != null) OnDropGranted(request);
        return GrantOutcome.Granted;
    }

    // One request through UnityWebRequest; the run and operations poll its Task each frame.
    private static Task<DropsHttpResponse> Send(DropsHttpRequest request, CancellationToken cancellation)
    {
        var web = new UnityWebRequest(request.Url, request.Method)
        {
            redirectLimit = 0,
            // Unity's default is no timeout: a request that never ends would hold the run.
            timeout = 30,
            downloadHandler = new DownloadHandlerBuffer(),
        };
        if (request.Body.Length > 0) web.uploadHandler = new UploadHandlerRaw(request.Body);
        foreach (var header in request.Headers) web.SetRequestHeader(header.Key, header.Value);
        var answer = new TaskCompletionSource<DropsHttpResponse>();
        var registration = cancellation.Register(web.Abort);
        web.SendWebRequest().completed += _ =>
        {
            registration.Dispose();
            if (web.result == UnityWebRequest.Result.ConnectionError)
            {
                answer.SetException(new DropsTransportException(TransportErrorKind.Interrupted, web.error));
            }
            else
            {
                var response = new DropsHttpResponse((int)web.responseCode) { Body = web.downloadHandler.data };
                var headers = web.GetResponseHeaders();
                if (headers != null)
                {
                    foreach (var header in headers) response.WithHeader(header.Key, header.Value);
                }
                answer.SetResult(response);
            }
            web.Dispose();
        };
        return answer.Task;
    }

    private void Stop()
    {
        if (starting != null) starting.Dispose();
        if (linking != null) linking.Dispose();
        if (run != null) run.Dispose();
        starting = null;
        linking = null;
        run = null;
    }

    private void OnDestroy()
    {
        Stop();
        if (client != null) client.Dispose();
        if (journal != null) journal.Dispose();
    }
}
