"""Why the seed's policy-gradient agent for CartPole barely learns, and what makes it learn.

Question: "My REINFORCE agent for CartPole does not learn: a linear softmax policy on the 4 observations,
gamma 0.95, learning rate 1e-6. After 400 episodes the mean episode length has gone from about 20 to 23.
Is my gradient wrong?"

Answer: the gradient is right; the step is too small for its scale. One episode's gradient of
-(log pi(a_t | s_t) * G_t).sum() has a norm of about 11, the weights a norm of about 0.7, so an SGD step
with lr 1e-6 changes the weights by ~2e-5 of their size: it would take ~60,000 episodes of updates to add
up to the weights themselves, and 400 episodes move them by well under 1%. The policy at episode 400 is
the policy at episode 1, up to noise. Then, one change at a time, what makes it learn:

    1. the seed: linear softmax policy, gamma 0.95, SGD lr 1e-6, no baseline
    2. the learning rate: lr 1e-2 (a first update is ~15% of the weights): it learns
    3. lr 1e-2 with a 4-32-2 tanh hidden layer: worse, not better. Without a baseline every G_t is
       positive, so every action taken is made more likely, good or bad; the bigger net follows that push
       into a near-deterministic policy that fails fast
    4. ... plus a baseline (the advantage (G_t - mean G) / std G instead of G_t): only the actions that
       did better than usual are reinforced, and the hidden layer learns
    5. the job's recipe (`retrograd train --env cartpole`): a learned value baseline, gamma 0.99, Adam
       lr 1e-2, 8 episodes per step; it solves CartPole-v1 in a few hundred episodes

Each variant trains from the same seeds (the environment's episodes too); the table gives the mean
episode length (= return) of the first and the last 50 episodes, averaged over the seeds. The default is one
seed and 100 episodes per variant (~10 s of CPU, what the docs page shows); the fuller run of the README
takes three seeds and 200 episodes (~30 s):

    python examples/cartpole_seed_agent.py
    python examples/cartpole_seed_agent.py --seeds 0 1 2 --episodes 200
"""
import argparse
import time

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.diagnostics.figures import save_figure
from retrograd.distributions import Categorical
from retrograd.jobs import cartpole


def policy_network(hidden):
    """4 observations -> 2 action logits: linear (the seed's, no bias, as a hand-written theta s), or one
    tanh hidden layer."""
    if not hidden:
        return nn.Linear(4, 2, bias=False)
    return nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, 2))


def play_one(env, policy, seed):
    """One episode, actions drawn from the policy; returns (observations, actions, rewards)."""
    observation, _ = env.reset(seed=seed)
    observations, actions, rewards, done = [], [], [], False
    while not done:
        with rg.no_grad():
            action = int(Categorical(logits=policy(rg.tensor(observation[None]))).sample().item())
        observations.append(observation)
        actions.append(action)
        observation, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
        done = terminated or truncated
    return np.stack(observations), np.asarray(actions), rewards


def reinforce(episodes, lr, hidden=0, gamma=0.95, baseline=False, seed=0):
    """Plain REINFORCE, one SGD step per episode (the seed's loop); returns the episode lengths and, per
    episode, the gradient norm and the norm of the weights."""
    gym = cartpole.require_gymnasium()
    rg.manual_seed(seed)
    policy = policy_network(hidden)
    optimizer = rg.optim.SGD(policy.parameters(), lr=lr)
    env = gym.make("CartPole-v1")
    lengths, gradient_norms, weight_norms = [], [], []
    for episode in range(episodes):
        observations, actions, rewards = play_one(env, policy, seed * 100_003 + episode)
        returns = cartpole.discounted_returns(rewards, gamma)
        if baseline:
            returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        log_probs = Categorical(logits=policy(rg.tensor(observations))).log_prob(rg.tensor(actions))
        loss = -(log_probs * rg.tensor(returns, dtype=rg.float32)).sum()
        optimizer.zero_grad()
        loss.backward()
        gradient_norms.append(float(np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in policy.parameters()))))
        weight_norms.append(float(np.sqrt(sum((p.detach().numpy() ** 2).sum() for p in policy.parameters()))))
        optimizer.step()
        lengths.append(len(rewards))
    env.close()
    return np.asarray(lengths), np.asarray(gradient_norms), np.asarray(weight_norms)


def job_recipe(episodes, seed=0):
    """The lengths of the first `episodes` episodes of `retrograd train --env cartpole` (not stopping early)."""
    import tempfile

    with tempfile.TemporaryDirectory() as out_dir:
        config = cartpole.CartPoleConfig(max_episodes=episodes, seed=seed, progress=False, out_dir=out_dir)
        result = cartpole.run(config, log=lambda *args: None)
    return np.asarray(result["returns"])


VARIANTS = {
    "1. the seed: linear, gamma 0.95, SGD lr 1e-6": dict(lr=1e-6),
    "2. learning rate 1e-2": dict(lr=1e-2),
    "3. lr 1e-2 + a 4-32-2 tanh hidden layer": dict(lr=1e-2, hidden=32),
    "4. lr 1e-2 + hidden layer + baseline": dict(lr=1e-2, hidden=32, baseline=True),
}
JOB = "5. the job: value baseline, gamma 0.99, Adam"
WINDOW = 50  # episodes averaged at the start and at the end


def draw_lengths(curves, smooth=10):
    """The episode length of each variant against the episode (mean over the seeds, a moving average)."""
    def draw(figure):
        axes = figure.subplots()
        for name, lengths in curves.items():
            mean = lengths.mean(axis=0)
            axes.plot(np.arange(smooth, len(mean) + 1), np.convolve(mean, np.ones(smooth) / smooth, "valid"),
                      label=name)
        axes.set(xlabel="episode", ylabel=f"episode length (moving mean of {smooth})", title="CartPole-v1")
        axes.legend(fontsize=7)
    save_figure("lengths.png", draw)


def main(seeds=(1,), seed_episodes=400, episodes=100):
    if not WINDOW <= episodes <= seed_episodes:
        raise ValueError(f"cartpole_seed_agent: expected {WINDOW} <= episodes <= seed_episodes, got episodes="
                         f"{episodes}, seed_episodes={seed_episodes}")
    started = time.perf_counter()
    runs = [reinforce(seed_episodes, lr=1e-6, seed=seed) for seed in seeds]
    lengths = np.stack([run[0] for run in runs])
    gradient_norms, weight_norms = np.stack([run[1] for run in runs]), np.stack([run[2] for run in runs])
    seed_agent = {"first": lengths[:, :WINDOW].mean(), "last": lengths[:, -WINDOW:].mean(),
                  "gradient_norm": float(np.median(gradient_norms)), "weight_norm": float(weight_norms.mean()),
                  "update_ratio": float(np.median(1e-6 * gradient_norms / weight_norms)),
                  "weight_change": float(np.max(np.abs(weight_norms[:, -1] / weight_norms[:, 0] - 1)))}
    print(f"The seed's agent, {seed_episodes} episodes (mean over seeds {', '.join(map(str, seeds))}): mean episode "
          f"length {seed_agent['first']:.1f} over the first {WINDOW} episodes, {seed_agent['last']:.1f} over the "
          f"last {WINDOW}.")
    print(f"  per episode: gradient norm {seed_agent['gradient_norm']:.1f} (median), weight norm "
          f"{seed_agent['weight_norm']:.2f}: update / weight = lr |g| / |W| = {seed_agent['update_ratio']:.1e}, so "
          f"~{1 / seed_agent['update_ratio']:,.0f} episodes")
    print(f"  of updates add up to the weights' own size; in {seed_episodes} the weight norm moved by at most "
          f"{seed_agent['weight_change'] * 100:.2f}%: the policy at the end is the policy at the start.")

    # variant 1 is the seed's agent: its first `episodes` episodes are the ones just played
    curves = {list(VARIANTS)[0]: lengths[:, :episodes]}
    for name, settings in list(VARIANTS.items())[1:]:
        curves[name] = np.stack([reinforce(episodes, seed=seed, **settings)[0] for seed in seeds])
    curves[JOB] = np.stack([job_recipe(episodes, seed) for seed in seeds])
    rows = {name: (lengths[:, :WINDOW].mean(), lengths[:, -WINDOW:].mean()) for name, lengths in curves.items()}
    draw_lengths(curves)

    print(f"\nMean episode length on CartPole-v1 (at most 500) over the first and the last {WINDOW} of {episodes} "
          f"episodes, mean over seeds {', '.join(map(str, seeds))}:")
    print(f"  {'variant':<46} {'first':>7} {'last':>7}")
    for name, (first, last) in rows.items():
        print(f"  {name:<46} {first:>7.1f} {last:>7.1f}")
    print(f"({time.perf_counter() - started:.0f}s)")
    return {"seed_agent": seed_agent, "variants": rows}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Why the seed's CartPole agent barely learns")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="training seeds (default: 1)")
    parser.add_argument("--episodes", type=int, default=100, help="episodes per variant (default: 100)")
    arguments = parser.parse_args()
    main(seeds=tuple(arguments.seeds), episodes=arguments.episodes)
