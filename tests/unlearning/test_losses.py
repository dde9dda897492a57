"""Tests of the forget-set losses against hand-computed values and limits."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import BaseModel, ValidationError

from path_unlearning.unlearning.losses import (
    LOSSES,
    ForgetBatch,
    Input,
    Method,
    MethodName,
    NPOHparams,
    UnknownMethodError,
    ga_loss,
    get_loss,
    get_method,
    needs_reference,
    npo_loss,
    register,
    simnpo_loss,
)

# Shared example: logp - ref_logp = [1, -1]; logp / n_tokens = [-0.5, -2.5].
LOGP = [-2.0, -5.0]
REF = [-3.0, -4.0]
N_TOKENS = [4, 2]


def _logp() -> torch.Tensor:
    return torch.tensor(LOGP, dtype=torch.float64, requires_grad=True)


def _ref() -> torch.Tensor:
    return torch.tensor(REF, dtype=torch.float64)


def _n() -> torch.Tensor:
    return torch.tensor(N_TOKENS)


def _grad(loss: torch.Tensor, logp: torch.Tensor) -> list[float]:
    loss.backward()
    return logp.grad.tolist()


class TestHandComputedValues:
    def test_ga(self):
        logp = _logp()
        loss = ga_loss(logp)
        assert loss.item() == pytest.approx(-3.5)
        assert _grad(loss, logp) == pytest.approx([0.5, 0.5])

    def test_npo(self):
        # 4 * mean(log(1 + e^0.5), log(1 + e^-0.5))
        logp = _logp()
        loss = npo_loss(logp, _ref(), beta=0.5)
        assert loss.item() == pytest.approx(2.8963079367204267, abs=1e-12)
        # (2/B) * sigmoid(beta * (logp - ref)) = sigmoid(+-0.5)
        assert _grad(loss, logp) == pytest.approx(
            [0.6224593312018546, 0.3775406687981454], abs=1e-12
        )

    def test_simnpo_paper_variant(self):
        # 2 * mean(log(1 + e^-2), log(1 + e^-5))
        logp = _logp()
        loss = simnpo_loss(logp, _n(), beta=1.0)
        assert loss.item() == pytest.approx(0.13364335953209056, abs=1e-12)
        assert _grad(loss, logp) == pytest.approx(
            [0.11920292202211755, 0.0066928509242848554], abs=1e-12
        )

    def test_simnpo_original(self):
        # beta=2.5, gamma=0.5: 0.8 * mean(log(1 + e^-0.75), log(1 + e^-5.75))
        logp = _logp()
        loss = simnpo_loss(logp, _n(), beta=2.5, gamma=0.5, length_normalized=True)
        assert loss.item() == pytest.approx(0.15601949303452395, abs=1e-12)
        # (2 / (B n_i)) * sigmoid(beta logp_i / n_i + gamma)
        assert _grad(loss, logp) == pytest.approx(
            [0.08020532520615176, 0.0015863414212425946], abs=1e-12
        )

    def test_simnpo_gamma_sign_matches_fan_et_al(self):
        # -(2/beta) log sigmoid(-(beta/|y|) log p - gamma): a larger margin gamma
        # pushes the sigmoid's argument down, so the loss grows.
        logp = torch.tensor([-3.0])
        n = torch.tensor([3])
        low = simnpo_loss(logp, n, beta=1.0, gamma=0.0, length_normalized=True)
        high = simnpo_loss(logp, n, beta=1.0, gamma=1.0, length_normalized=True)
        # argument -(1)(-1) - gamma: 1 and 0 -> 2*log(1+e^-1), 2*log 2
        assert low.item() == pytest.approx(2 * math.log1p(math.exp(-1.0)), abs=1e-6)
        assert high.item() == pytest.approx(2 * math.log(2.0), abs=1e-6)
        assert high > low


class TestGradientSign:
    @pytest.mark.parametrize("name", sorted(LOSSES))
    def test_descending_the_loss_lowers_logp(self, name):
        torch.manual_seed(0)
        logp = (-20 * torch.rand(8, dtype=torch.float64)).requires_grad_()
        ref = logp.detach() + torch.randn(8, dtype=torch.float64)
        n = torch.randint(1, 30, (8,))
        retain = -10 * torch.rand(8, dtype=torch.float64)  # GradDiff's retain batch
        loss = get_loss(name)(ForgetBatch(logp, n, ref, retain))
        loss.backward()
        assert (logp.grad > 0).all()


class TestLimits:
    def test_npo_small_beta_is_ga_on_log_ratio_plus_constant(self):
        # (2/b) log(1 + e^{bx}) = 2 log2 / b + x + b x^2 / 4 + O(b^3)
        # so npo - 2 log 2 / b -> mean(logp - ref) = 0 here as b -> 0.
        logp, ref = _logp(), _ref()
        mean_ratio = 0.0
        for beta in (1e-2, 1e-3, 1e-4):
            shifted = npo_loss(logp, ref, beta=beta).item() - 2 * math.log(2) / beta
            # mean(x^2) = 1, so the remainder is about beta / 4
            assert shifted - mean_ratio == pytest.approx(beta / 4, rel=1e-3, abs=1e-9)

    def test_npo_small_beta_nonzero_mean(self):
        logp = torch.tensor([-1.0, -2.0, -6.0], dtype=torch.float64)
        ref = torch.tensor([-2.0, -2.0, -2.0], dtype=torch.float64)
        beta = 1e-5
        shifted = npo_loss(logp, ref, beta=beta).item() - 2 * math.log(2) / beta
        assert shifted == pytest.approx((1.0 + 0.0 - 4.0) / 3, abs=1e-4)

    def test_npo_large_beta_is_twice_mean_positive_part(self):
        # (2/b) log(1 + e^{bx}) -> 2 max(x, 0) as b -> infinity
        loss = npo_loss(_logp(), _ref(), beta=200.0).item()
        assert loss == pytest.approx(2 * (1.0 + 0.0) / 2, abs=1e-12)

    def test_npo_gradient_at_reference_equals_ga_gradient(self):
        # d npo / d logp_i = (2/B) sigmoid(0) = 1/B = d ga / d logp_i
        for beta in (0.1, 0.5, 3.0):
            logp = _logp()
            npo_grad = _grad(npo_loss(logp, logp.detach().clone(), beta=beta), logp)
            logp = _logp()
            ga_grad = _grad(ga_loss(logp), logp)
            assert npo_grad == pytest.approx(ga_grad, abs=1e-12)
            assert npo_grad == pytest.approx([0.5, 0.5])

    def test_npo_at_reference_is_2log2_over_beta(self):
        logp = _logp()
        assert npo_loss(logp, logp.detach(), beta=0.5).item() == pytest.approx(4 * math.log(2))


class TestSimNPOVariants:
    def test_paper_variant_is_npo_with_zero_reference(self):
        logp = _logp()
        assert simnpo_loss(logp, _n(), beta=0.7).item() == pytest.approx(
            npo_loss(logp, torch.zeros(2, dtype=torch.float64), beta=0.7).item()
        )

    def test_length_normalisation_divides_by_n_tokens(self):
        logp, n = _logp(), _n()
        normalized = simnpo_loss(logp, n, beta=2.5, gamma=0.3, length_normalized=True)
        manual = simnpo_loss(logp / n, n, beta=2.5, gamma=0.3)
        assert normalized.item() == pytest.approx(manual.item(), abs=1e-12)
        paper = simnpo_loss(logp, n, beta=2.5, gamma=0.3)
        assert paper.item() != pytest.approx(normalized.item())

    def test_one_token_responses_make_the_variants_equal(self):
        logp = _logp()
        ones = torch.ones(2, dtype=torch.long)
        assert simnpo_loss(logp, ones, beta=1.5, length_normalized=True).item() == pytest.approx(
            simnpo_loss(logp, ones, beta=1.5).item()
        )

    def test_paper_variant_ignores_n_tokens(self):
        logp = _logp()
        a = simnpo_loss(logp, torch.tensor([1, 1]), beta=1.0)
        b = simnpo_loss(logp, torch.tensor([7, 50]), beta=1.0)
        assert a.item() == b.item()


class TestRegistry:
    def test_names(self):
        assert set(LOSSES) == {"ga", "npo", "simnpo", "simnpo_original", "gradiff"}

    def test_defaults(self):
        assert LOSSES["npo"].defaults == {"beta": 0.5}
        assert LOSSES["simnpo"].defaults == {"beta": 1.0, "gamma": 0.0}
        assert LOSSES["simnpo_original"].defaults == {"beta": 2.5, "gamma": 0.0}

    def test_needs_reference(self):
        assert needs_reference("npo")
        assert not needs_reference("ga")
        assert not needs_reference("simnpo")
        assert not needs_reference("simnpo_original")

    def test_get_loss_binds_defaults_and_overrides(self):
        logp, ref, n = _logp(), _ref(), _n()
        batch = ForgetBatch(logp=logp, n_tokens=n, ref_logp=ref)
        assert get_loss("ga")(batch).item() == pytest.approx(-3.5)
        assert get_loss("npo")(batch).item() == pytest.approx(npo_loss(logp, ref, beta=0.5).item())
        assert get_loss("npo", beta=2)(batch).item() == pytest.approx(
            npo_loss(logp, ref, beta=2.0).item()
        )
        assert get_loss("simnpo")(batch).item() == pytest.approx(
            simnpo_loss(logp, n, beta=1.0).item()
        )
        assert get_loss("simnpo_original", gamma=0.5)(batch).item() == pytest.approx(
            simnpo_loss(logp, n, beta=2.5, gamma=0.5, length_normalized=True).item()
        )

    def test_unknown_method(self):
        with pytest.raises(UnknownMethodError) as excinfo:
            get_loss("rmu")
        message = str(excinfo.value)
        assert "\n" not in message
        for name in LOSSES:
            assert name in message
        assert isinstance(excinfo.value, ValueError)
        with pytest.raises(UnknownMethodError):
            needs_reference("rmu")

    def test_unknown_hyper_parameter(self):
        with pytest.raises(ValueError, match="betta"):
            get_loss("npo", betta=0.5)
        with pytest.raises(ValueError, match="beta"):
            get_loss("ga", beta=0.5)

    def test_invalid_hyper_parameter_values(self):
        with pytest.raises(ValueError, match="beta"):
            get_loss("npo", beta=0.0)
        with pytest.raises(ValueError):
            get_loss("simnpo", beta="big")
        with pytest.raises(ValueError, match="beta"):
            npo_loss(_logp(), _ref(), beta=-1.0)

    def test_npo_without_reference(self):
        batch = ForgetBatch(logp=_logp(), n_tokens=_n())
        with pytest.raises(ValueError, match="ref_logp"):
            get_loss("npo")(batch)

    def test_shape_mismatch(self):
        with pytest.raises(ValueError, match="ref_logp"):
            npo_loss(_logp(), torch.zeros(3, dtype=torch.float64))
        with pytest.raises(ValueError, match="n_tokens"):
            simnpo_loss(_logp(), torch.tensor([1, 2, 3]), length_normalized=True)

    def test_forget_batch_is_frozen(self):
        batch = ForgetBatch(logp=_logp(), n_tokens=_n())
        with pytest.raises(AttributeError):
            batch.logp = _logp()


class TestMethods:
    """Every method is one object: hyper-parameters with ranges, declared inputs, loss."""

    def test_declared_inputs(self):
        assert {n: set(m.inputs) for n, m in LOSSES.items()} == {
            "ga": set(),
            "npo": {Input.REFERENCE},
            "simnpo": set(),
            "simnpo_original": set(),
            "gradiff": {Input.RETAIN},
        }
        assert get_method("npo").needs(Input.REFERENCE) and not get_method("npo").needs(
            Input.RETAIN
        )

    @pytest.mark.parametrize("name", sorted(LOSSES))
    def test_hparams_are_frozen_documented_and_closed(self, name):
        model = get_method(name).hparams
        assert model.model_config["extra"] == "forbid" and model.model_config["frozen"]
        assert all(info.description for info in model.model_fields.values())
        bound = model()
        for field in model.model_fields:
            with pytest.raises(ValidationError):
                setattr(bound, field, 1.0)
        with pytest.raises(ValidationError):
            model(not_a_field=1.0)

    def test_messages_are_one_line(self):
        for call, text in [
            (lambda: get_loss("npo", beta=0), "beta must be > 0, got 0.0"),
            (lambda: get_loss("gradiff", retain_weight=-1), "retain_weight must be >= 0, got -1.0"),
            (lambda: get_loss("npo", betta=1), "unknown hyper-parameter(s) betta for 'npo'"),
        ]:
            with pytest.raises(ValueError) as excinfo:
                call()
            assert text in str(excinfo.value) and "\n" not in str(excinfo.value)

    def test_hparams_reach_the_loss_as_floats(self):
        seen = []
        method = Method("probe_hparams", NPOHparams, lambda b, h: seen.append(h) or b.logp.sum())
        method.bind(beta=2)(ForgetBatch(_logp(), _n()))
        assert seen == [NPOHparams(beta=2.0)] and isinstance(seen[0].beta, float)

    def test_register_checks_the_name(self):
        with pytest.raises(ValueError, match="already registered"):
            register(LOSSES["ga"])
        with pytest.raises(ValueError, match="must match"):
            register(Method("Bad.Name", NPOHparams, lambda b, h: b.logp.mean()))
        assert "Bad.Name" not in LOSSES

    def test_method_name_field_reads_the_registry_when_built(self):
        class Config(BaseModel):
            method: MethodName

        assert Config(method="npo").method == "npo"
        with pytest.raises(ValidationError, match="unknown unlearning method 'rmu'"):
            Config(method="rmu")
