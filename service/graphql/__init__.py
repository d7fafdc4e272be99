"""The GraphQL layer.

The vocabularies are registered as GraphQL enums on the package's import, before any module of
it can name one in an annotation: a type that met a plain Enum first would give it a second,
undescribed definition, and the schema would then refuse both (DuplicatedTypeName).
"""

from service.graphql import vocabularies as _registers_the_enums  # noqa: F401
