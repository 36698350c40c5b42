"""REINFORCE with a learned baseline on gymnasium's CartPole-v1: `retrograd train --env cartpole`.

The algorithm (Williams 1992; Sutton & Barto, 2nd ed., section 13.4, "REINFORCE with Baseline"), run until
the last 100 episodes average a return of at least 475, CartPole-v1's threshold for "solved":

    repeat:
        play K episodes in lockstep with the policy pi(a | s) = softmax(policy(s))      (a Categorical)
        for each step t of each episode, the discounted return
            G_t = r_t + gamma r_(t+1) + gamma^2 r_(t+2) + ...                           (gamma = 0.99)
            (an episode cut off at 500 steps has not failed: its tail is estimated as gamma^k V(s_end))
        the advantage A_t = G_t - V(s_t), V a small value network (the baseline: it takes out what the
            state alone predicts, so the gradient keeps what the action added), normalised over the batch
            to mean 0 and standard deviation 1
        loss = -(log pi(a_t | s_t) * A_t).sum() / K  +  mean((V(s_t) - G_t)^2)
        one Adam step on both networks

The gradient of the first term is the policy gradient: for a softmax policy, d log pi(a | s) / d logits =
onehot(a) - pi(. | s), so an action followed by a better-than-expected return becomes more likely. The
episodes' actions are drawn under no_grad, one batched forward per step for the K episodes; the update
recomputes all log-probabilities in one forward with the graph.

Everything is seeded: retrograd's generator (initial weights, the action draws) and each episode's
environment (reset with seed + episode number), so a run is reproducible and a checkpoint resumes it.
"""
import os
import time
from dataclasses import dataclass, field

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.distributions import Categorical
from retrograd.nn import functional as F

SOLVED_RETURN = 475.0  # CartPole-v1's reward_threshold
WINDOW = 100           # ... averaged over this many consecutive episodes


@dataclass
class CartPoleConfig:
    hidden: tuple = (64,)
    lr: float = 0.01            # the policy's Adam learning rate
    value_lr: float = 0.01      # the baseline's
    gamma: float = 0.99
    episodes_per_update: int = 8
    max_episodes: int = 3000    # give up after this many episodes
    minutes: float = None       # ... or after this long
    seed: int = 0
    out_dir: str = "retrograd-runs/cartpole"
    resume: str = None
    progress: bool = True
    checkpoint_every: int = 10  # updates
    stop_when_solved: bool = True


def require_gymnasium():
    try:
        import gymnasium
    except ImportError:
        raise ImportError('the CartPole job needs gymnasium: pip install "retrograd[rl]"') from None
    return gymnasium


def mlp(sizes, activation=nn.Tanh):
    """Linear layers of the given sizes with `activation` between them (none after the last)."""
    layers = []
    for index, (inputs, outputs) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(inputs, outputs))
        if index < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class Agent(nn.Module):
    """The policy (observation -> 2 action logits) and the baseline (observation -> expected return)."""

    def __init__(self, observations=4, actions=2, hidden=(64,)):
        super().__init__()
        self.policy = mlp((observations, *hidden, actions))
        self.value = mlp((observations, *hidden, 1))

    def forward(self, observations):
        return self.policy(observations)


@dataclass
class Episode:
    observations: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    rewards: list = field(default_factory=list)
    truncated: bool = False
    last_observation: np.ndarray = None  # where a truncated episode was cut off

    @property
    def total(self):
        return float(sum(self.rewards))


def play(envs, policy, seeds):
    """One episode per environment, stepped in lockstep: each step draws the actions of all running
    episodes from one forward of the policy (no graph)."""
    episodes = [Episode() for _ in envs]
    current = [env.reset(seed=int(seed))[0] for env, seed in zip(envs, seeds)]
    running = list(range(len(envs)))
    while running:
        batch = rg.tensor(np.stack([current[i] for i in running]), dtype=rg.float32)
        with rg.no_grad():
            actions = Categorical(logits=policy(batch)).sample().numpy()
        still_running = []
        for i, action in zip(running, actions):
            episode = episodes[i]
            episode.observations.append(current[i])
            episode.actions.append(int(action))
            current[i], reward, terminated, truncated, _ = envs[i].step(int(action))
            episode.rewards.append(float(reward))
            if terminated or truncated:
                episode.truncated, episode.last_observation = bool(truncated and not terminated), current[i]
            else:
                still_running.append(i)
        running = still_running
    return episodes


def discounted_returns(rewards, gamma, tail=0.0):
    """G_t = r_t + gamma G_(t+1), from G_T = tail (0 at a failure, V(s_end) where the episode was cut off).
    A loop over time: each return needs the next one."""
    returns = np.empty(len(rewards), dtype=np.float64)
    running = tail
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def losses(agent, episodes, gamma):
    """(policy loss, value loss) of a batch of episodes, both with their graphs."""
    observations = rg.tensor(np.concatenate([np.stack(e.observations) for e in episodes]), dtype=rg.float32)
    actions = rg.tensor(np.concatenate([e.actions for e in episodes]))
    with rg.no_grad():
        tails = [agent.value(rg.tensor(e.last_observation[None], dtype=rg.float32)).item() if e.truncated else 0.0
                 for e in episodes]
    returns = np.concatenate([discounted_returns(e.rewards, gamma, tail) for e, tail in zip(episodes, tails)])
    returns = rg.tensor(returns, dtype=rg.float32)

    values = agent.value(observations).squeeze(-1)
    advantages = returns - values.detach()
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    log_probs = Categorical(logits=agent.policy(observations)).log_prob(actions)
    policy_loss = -(log_probs * advantages).sum() / len(episodes)
    value_loss = F.mse_loss(values, returns)
    return policy_loss, value_loss


def update(agent, optimizer, episodes, gamma):
    """One REINFORCE-with-baseline step (an Adam step on both losses); returns their values."""
    policy_loss, value_loss = losses(agent, episodes, gamma)
    optimizer.zero_grad()
    (policy_loss + value_loss).backward()
    optimizer.step()
    return policy_loss.item(), value_loss.item()


def solved(returns):
    """True once the last WINDOW episodes average at least SOLVED_RETURN."""
    return len(returns) >= WINDOW and float(np.mean(returns[-WINDOW:])) >= SOLVED_RETURN


def plot_returns(returns, path, title="REINFORCE with a baseline on CartPole-v1"):
    """Each episode's return and the mean of the last 100, against the episode, with the 475 line.
    Draws on its own Figure (Agg): pyplot's state stays the user's. Needs the plot extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('the returns plot needs matplotlib: pip install "retrograd[plot]"') from None
    episodes = np.arange(1, len(returns) + 1)
    cumulative = np.cumsum(np.concatenate([[0.0], returns]))
    lows = np.maximum(episodes - WINDOW, 0)
    moving = (cumulative[episodes] - cumulative[lows]) / (episodes - lows)
    fig = Figure(figsize=(7, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(episodes, returns, lw=0.6, alpha=0.5, label="episode return")
    ax.plot(episodes, moving, lw=2, label=f"mean of the last {WINDOW}")
    ax.axhline(SOLVED_RETURN, color="k", ls="--", lw=1, label=f"solved ({SOLVED_RETURN:g})")
    ax.set(xlabel="episode", ylabel="return", title=title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


@dataclass
class Progress:
    """What a run has done so far (all of it goes into the checkpoint)."""
    returns: list = field(default_factory=list)   # every episode's return, in order
    updates: int = 0
    solved_at: int = None                          # the episode that completed the first solving window
    history: rg.train.History = field(default_factory=rg.train.History)   # one row per update


def run(config, log=print):
    """Train until solved (or out of episodes or time); save a checkpoint and the returns plot; return a
    summary: solved, solved_at (the episode that completed the first window averaging >= 475), episodes,
    updates, returns, seconds, checkpoint, plot."""
    gym = require_gymnasium()
    started = time.perf_counter()
    rg.manual_seed(config.seed)
    agent = Agent(hidden=tuple(config.hidden))
    optimizer = rg.optim.Adam([{"params": agent.policy.parameters(), "lr": config.lr},
                               {"params": agent.value.parameters(), "lr": config.value_lr}])
    os.makedirs(config.out_dir, exist_ok=True)
    checkpoint_path = os.path.join(config.out_dir, "checkpoint.safetensors")
    progress = resume(config, agent, optimizer, log) if config.resume else Progress()
    log(f"CartPole-v1: REINFORCE with a value baseline, policy 4-{'-'.join(map(str, config.hidden))}-2, "
        f"{sum(p.numel() for p in agent.parameters()):,} parameters in all, gamma {config.gamma}, "
        f"{config.episodes_per_update} episodes per Adam step (lr {config.lr})")
    envs = [gym.make("CartPole-v1") for _ in range(config.episodes_per_update)]
    try:
        train(config, envs, agent, optimizer, progress, checkpoint_path, started, log)
    finally:
        for env in envs:
            env.close()
    save(checkpoint_path, config, agent, optimizer, progress)
    return report(config, progress, checkpoint_path, time.perf_counter() - started, log)


def train(config, envs, agent, optimizer, progress, checkpoint_path, started, log):
    """Play and update until solved, out of episodes or out of time; checkpoint every few updates."""
    bar = None
    if config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.max_episodes, initial=len(progress.returns), desc="episodes", dynamic_ncols=True,
                   mininterval=0.5)
    deadline = started + 60 * config.minutes if config.minutes else None
    returns = progress.returns
    try:
        while len(returns) < config.max_episodes and not (config.stop_when_solved and progress.solved_at):
            seeds = config.seed * 1_000_003 + len(returns) + np.arange(len(envs))  # episode n: seed-derived, fixed
            episodes = play(envs, agent.policy, seeds)
            policy_loss, value_loss = update(agent, optimizer, episodes, config.gamma)
            returns += [e.total for e in episodes]
            window = float(np.mean(returns[-WINDOW:]))
            just_solved = progress.solved_at is None and solved(returns)
            if just_solved:
                progress.solved_at = len(returns)
            progress.history.append(progress.updates, {
                "loss": policy_loss, "value_loss": value_loss, "return": float(np.mean([e.total for e in episodes])),
                "window": window, "time": time.perf_counter() - started})
            progress.updates += 1
            if bar is not None:
                bar.update(len(episodes))
                bar.set_postfix(mean100=f"{window:.0f}", last=f"{returns[-1]:.0f}", refresh=False)
            if progress.updates % config.checkpoint_every == 0 or just_solved:
                save(checkpoint_path, config, agent, optimizer, progress)
            if deadline and time.perf_counter() > deadline:
                log(f"time budget of {config.minutes} minutes reached")
                break
    finally:
        if bar is not None:
            bar.close()


def report(config, progress, checkpoint_path, seconds, log):
    """Log the outcome, save the returns plot (if matplotlib is there), return the summary."""
    returns, solved_at = progress.returns, progress.solved_at
    if solved_at:
        log(f"solved: the mean return of episodes {solved_at - WINDOW + 1}-{solved_at} is >= {SOLVED_RETURN:g}; "
            f"{len(returns)} episodes, {progress.updates} updates, {seconds:.1f}s")
    else:
        window = float(np.mean(returns[-WINDOW:])) if returns else 0.0
        log(f"not solved: mean return of the last {min(WINDOW, len(returns))} episodes {window:.1f} after "
            f"{len(returns)} episodes, {seconds:.1f}s")
    plot_path = os.path.join(config.out_dir, "returns.png")
    try:
        plot_returns(np.asarray(returns), plot_path)
    except ImportError as error:
        plot_path = None
        log(f"(no plot: {error})")
    log(f"checkpoint: {checkpoint_path}")
    if plot_path:
        log(f"plot: {plot_path}")
    return {"solved": solved_at is not None, "solved_at": solved_at, "episodes": len(returns),
            "updates": progress.updates, "returns": returns, "seconds": seconds, "checkpoint": checkpoint_path,
            "plot": plot_path, "history": progress.history}


def save(path, config, agent, optimizer, progress):
    rg.train.save_checkpoint(path, agent, optimizer, epoch=progress.updates, history=progress.history,
                             extra={"returns": np.asarray(progress.returns, dtype=np.float64),
                                    "solved_at": progress.solved_at, "hidden": list(config.hidden)})


def resume(config, agent, optimizer, log):
    """The Progress saved in config.resume, loaded with the agent's and Adam's state and the generator."""
    extra = rg.load(config.resume).get("extra") or {}
    saved_hidden = extra.get("hidden") if isinstance(extra, dict) else None
    if saved_hidden is not None and tuple(saved_hidden) != tuple(config.hidden):
        raise ValueError(f"--resume {config.resume}: the checkpoint's networks have hidden sizes "
                         f"{','.join(map(str, saved_hidden)) or '0'}, this run asks for --hidden "
                         f"{','.join(map(str, config.hidden)) or '0'}; resume with the checkpoint's sizes")
    state = rg.train.load_checkpoint(config.resume, agent, optimizer)
    progress = Progress(returns=[float(r) for r in np.asarray(state["extra"]["returns"]).ravel()],
                        updates=state["epoch"], solved_at=state["extra"].get("solved_at"), history=state["history"])
    log(f"resumed from {config.resume} after {len(progress.returns)} episodes ({progress.updates} updates)")
    return progress
