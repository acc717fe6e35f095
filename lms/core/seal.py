"""The organisation seal: a PAdES signature (pyHanko) on every PDF Brigade issues.

The key and certificate come from a PKCS#12 file named in the configuration
(``LMS_SEAL_FILE``, ``LMS_SEAL_PASSPHRASE``). Any PDF reader then shows who issued a document
and whether it was changed, without visiting Brigade. A damaged file, a wrong passphrase or an
expired certificate stops the start with a clear message, unless ``LMS_SEAL_OPTIONAL=1`` says
PDFs may be issued unsealed (then the start-up log says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app

from lms.core.errors import ConfigError

T = TypeVar("T")

FIELD_NAME = "BrigadeSeal"


def run_sync(func: Callable[[], T]) -> T:
    """Run ``func`` (which uses asyncio.run, as pyHanko's synchronous API does) even when this
    thread already runs an event loop: then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(func).result()


@dataclass
class Seal:
    signer: Any  # pyhanko.sign.signers.SimpleSigner
    certificate: Any  # asn1crypto x509.Certificate
    subject: str
    not_after: datetime
    organisation: str


def _signer_class() -> Any:
    # pyhanko and cryptography load only when a PDF is sealed or checked (heavy)
    from asn1crypto import cms
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from pyhanko.sign import signers
    from pyhanko.sign.general import get_pyca_cryptography_hash

    class CachedKeySigner(signers.SimpleSigner):
        """SimpleSigner that keeps the loaded key (it would parse and check it per signature)
        and the CMS container it built the first time.

        pyHanko assembles each CMS ``SignedData`` from scratch with asn1crypto, copying and
        re-encoding the seal certificate every time: about four fifths of a seal's cost. For
        a PAdES seal without a timestamp the signed attributes differ between two documents
        only in the message digest (PAdES puts the signing time in the PDF, not in the CMS),
        so after the first signature made by pyHanko itself, each next one reuses that
        container: the digest attribute is replaced, the attributes signed again with the key,
        and the signature value replaced. Everything else (certificates, signer identifier,
        algorithms, the signing-certificate-v2 and algorithm-protection attributes) is the
        same DER pyHanko made. The validator's check of every sealed certificate in the tests
        covers this path.
        """

        def __init__(self, pyca_key: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._pyca_key = pyca_key
            self._templates: dict[tuple[str, bool], bytes] = {}

        async def async_sign(
            self,
            data_digest: bytes,
            digest_algorithm: str,
            dry_run: bool = False,
            use_pades: bool = False,
            timestamper: Any = None,
            signed_attr_settings: Any = None,
            is_pdf_sig: bool = True,
            encap_content_info: Any = None,
        ) -> Any:
            plain = (
                not dry_run
                and use_pades
                and is_pdf_sig
                and timestamper is None
                and encap_content_info is None
                and (
                    signed_attr_settings is None
                    or (
                        signed_attr_settings.adobe_revinfo_attr is None
                        and signed_attr_settings.cades_signed_attrs is None
                    )
                )
            )
            key = (digest_algorithm.lower(), use_pades)
            template = self._templates.get(key) if plain else None
            if template is not None:
                return self._from_template(template, data_digest, key[0])
            made = await super().async_sign(
                data_digest,
                digest_algorithm,
                dry_run=dry_run,
                use_pades=use_pades,
                timestamper=timestamper,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )
            if plain and _reusable(made):
                self._templates[key] = made.dump()
            return made

        def _from_template(self, template: bytes, data_digest: bytes, digest_algorithm: str) -> Any:
            info = cms.ContentInfo.load(template)
            signer_info = info["content"]["signer_infos"][0]
            attrs = cms.CMSAttributes.load(signer_info["signed_attrs"].untag().dump())
            for attr in attrs:
                if attr["type"].native == "message_digest":
                    attr["values"] = [data_digest]
            signature = self.sign_raw(attrs.dump(), digest_algorithm)
            signer_info["signed_attrs"] = attrs
            signer_info["signature"] = signature
            return info

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            if mechanism == "rsassa_pkcs1v15" and isinstance(self._pyca_key, RSAPrivateKey):
                algo = get_pyca_cryptography_hash(digest_algorithm)
                return self._pyca_key.sign(data, PKCS1v15(), algo)
            return super().sign_raw(data, digest_algorithm)

    return CachedKeySigner


# the signed attributes of a PAdES seal without timestamp: all but the digest are the same for
# every document (a signing time or any other attribute: no reuse)
_STABLE_ATTRS = {"content_type", "cms_algorithm_protection", "signing_certificate_v2"}


def _reusable(info: Any) -> bool:
    signer_infos = info["content"]["signer_infos"]
    if len(signer_infos) != 1 or signer_infos[0]["unsigned_attrs"].native:
        return False
    types = [a["type"].native for a in signer_infos[0]["signed_attrs"]]
    return types.count("message_digest") == 1 and set(types) - {"message_digest"} <= _STABLE_ATTRS


def _CachedKeySigner(pyca_key: Any, **kwargs: Any) -> Any:  # noqa: N802
    return _signer_class()(pyca_key, **kwargs)


def load(path: Path, passphrase: str | None, organisation: str = "") -> Seal:
    """The seal in a PKCS#12 file; ConfigError with a message a person can act on."""
    # pyhanko and cryptography load only when a PDF is sealed or checked (heavy)
    from asn1crypto import keys, pkcs12, x509
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )
    from cryptography.hazmat.primitives.serialization import (
        pkcs12 as crypto_pkcs12,
    )
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    if not path.is_file():
        raise ConfigError(f"The seal file {path} (LMS_SEAL_FILE) does not exist.")
    data = path.read_bytes()
    try:
        pfx = pkcs12.Pfx.load(data, strict=True)
        pfx.native  # noqa: B018  (parses every part: a truncated file fails here)
    except (ValueError, TypeError, OSError) as err:
        raise ConfigError(
            f"The seal file {path} (LMS_SEAL_FILE) is damaged or not a PKCS#12 file: {err}"
        ) from err
    try:
        key, cert, extra = crypto_pkcs12.load_key_and_certificates(
            data, passphrase.encode() if passphrase else None
        )
    except ValueError as err:
        raise ConfigError(
            f"The seal file {path} cannot be opened: the passphrase (LMS_SEAL_PASSPHRASE) is "
            "wrong or missing."
        ) from err
    if key is None or cert is None:
        raise ConfigError(f"The seal file {path} holds no private key and certificate.")
    not_after = cert.not_valid_after_utc
    now = datetime.now(UTC)
    if not_after <= now:
        raise ConfigError(
            f"The seal certificate in {path} ({cert.subject.rfc4514_string()}) expired on "
            f"{not_after:%Y-%m-%d}; renew it."
        )
    if cert.not_valid_before_utc > now:
        raise ConfigError(
            f"The seal certificate in {path} is valid only from {cert.not_valid_before_utc:%Y-%m-%d}."
        )
    asn_cert = x509.Certificate.load(cert.public_bytes(Encoding.DER))
    asn_key = keys.PrivateKeyInfo.load(
        key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    )
    chain = [x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in extra or []]
    signer = _CachedKeySigner(
        key,
        signing_cert=asn_cert,
        signing_key=asn_key,
        cert_registry=SimpleCertificateStore.from_certs([asn_cert, *chain]),  # type: ignore[no-untyped-call]
    )
    return Seal(
        signer=signer,
        certificate=asn_cert,
        subject=asn_cert.subject.human_friendly,
        not_after=not_after,
        organisation=organisation,
    )


def init_app(app: Flask, config: Any) -> None:
    """Load the seal at start; refuse to start on a bad one unless unsealed PDFs are allowed."""
    app.extensions["brigade_seal"] = None
    if not config.seal_file:
        app.logger.warning(
            "PDFs are issued unsealed: no organisation seal is configured (LMS_SEAL_FILE)."
        )
        return
    try:
        seal = load(Path(config.seal_file), config.seal_passphrase, config.organisation_name)
    except ConfigError as err:
        if not config.seal_optional:
            raise
        app.logger.error("%s PDFs are issued unsealed (LMS_SEAL_OPTIONAL=1).", err)
        return
    if seal.not_after - datetime.now(UTC) < timedelta(days=30):
        app.logger.warning("The seal certificate expires on %s.", f"{seal.not_after:%Y-%m-%d}")
    app.extensions["brigade_seal"] = seal


def current() -> Seal | None:
    return current_app.extensions.get("brigade_seal")


def seal_pdf(pdf: bytes, seal: Seal | None = None, reason: str = "") -> bytes:
    """The PDF with the organisation's PAdES signature appended (unchanged when unsealed)."""
    seal = seal if seal is not None else current()
    if seal is None:
        return pdf
    # pyhanko and cryptography load only when a PDF is sealed or checked (heavy)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=reason or "Issued by Brigade",
        name=seal.organisation or None,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    signer = signers.PdfSigner(meta, signer=seal.signer)
    out = run_sync(lambda: signer.sign_pdf(writer, bytes_reserved=8192))
    return bytes(out.getvalue())


@dataclass
class SealCheck:
    """What a PDF's seal says: who, when, and whether the document is as sealed."""

    signer: str
    signed_at: datetime | None
    intact: bool  # the signed bytes are unchanged and cover the whole file
    trusted: bool  # made with this organisation's seal certificate


def check(data: bytes, seal: Seal | None = None) -> SealCheck | None:
    """Validate a PDF's seal with pyHanko (None: no seal in it)."""
    # pyhanko and cryptography load only when a PDF is sealed or checked (heavy)
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    seal = seal if seal is not None else current()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError):
        return None
    if not sigs:
        return None
    sig = sigs[-1]
    roots = [seal.certificate] if seal is not None else []
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = run_sync(lambda: validate_pdf_signature(sig, context))
    except Exception:  # noqa: BLE001  (any failure to validate is "not intact")
        signer = ""
        with contextlib.suppress(Exception):
            signer = sig.signer_cert.subject.human_friendly
        return SealCheck(signer=signer, signed_at=None, intact=False, trusted=False)
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    own = seal is not None and status.signing_cert.dump() == seal.certificate.dump()
    return SealCheck(
        signer=status.signing_cert.subject.human_friendly,
        signed_at=status.signer_reported_dt,
        intact=bool(status.intact and status.valid and whole),
        trusted=bool(status.trusted and own),
    )


def make_demo_seal(
    path: Path,
    passphrase: str,
    organisation: str,
    days: int = 3650,
    valid_from: datetime | None = None,
) -> None:
    """A self-signed seal certificate for the demo (``make run``)."""
    # pyhanko and cryptography load only when a PDF is sealed or checked (heavy)
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = cx509.Name(
        [
            cx509.NameAttribute(NameOID.COUNTRY_NAME, "LV"),
            cx509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            cx509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} (demo seal)"),
        ]
    )
    now = valid_from or datetime.now(UTC)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            cx509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    blob = pkcs12.serialize_key_and_certificates(
        b"brigade-seal", key, cert, None, BestAvailableEncryption(passphrase.encode())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)


if __name__ == "__main__":  # python -m lms.core.seal PATH PASSPHRASE [ORGANISATION]
    import sys

    if len(sys.argv) < 3:
        sys.exit("usage: python -m lms.core.seal PATH PASSPHRASE [ORGANISATION]")
    target = Path(sys.argv[1])
    if target.exists():
        print(f"{target} exists: kept.")
    else:
        make_demo_seal(
            target, sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "Brigade Demo Ltd"
        )
        print(f"Demo seal written to {target} (self-signed: readers show it as not trusted).")
